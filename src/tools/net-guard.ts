// Moved: import from '../net/net-guard.js'. This re-export goes when the restructure lands.
export * from '../net/net-guard.js';
