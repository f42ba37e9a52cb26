// Moved: import from '../net/guarded-fetch.js'. This re-export goes when the restructure lands.
export * from '../net/guarded-fetch.js';
