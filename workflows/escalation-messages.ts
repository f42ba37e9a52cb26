/** Moved to `workflows/contracts` (issue 10); re-exported here until every importer has moved. */
export * from './contracts/index.js';
