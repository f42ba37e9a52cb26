/**
 * The one module of `workflows/` that the gateway and the activities import (a lint rule enforces it):
 * task queue, search attributes, workflow ids, inputs and results, update and query definitions, failure
 * types and the domain enums the workflows need. No I/O, no Node built-ins: workflow code imports it too.
 */
export * from './temporal.js';
export * from './ids.js';
export * from './failures.js';
export * from './workflow-io.js';
export * from './escalation.js';
export * from './escalation-messages.js';
export * from './webhooks.js';
export * from './turn-control.js';
