// Moved: import from '../errors.js'. This re-export goes when the restructure lands.
export * from '../errors.js';
