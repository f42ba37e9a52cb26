// Moved: import from '../net/pinned-fetch.js'. This re-export goes when the restructure lands.
export * from '../net/pinned-fetch.js';
