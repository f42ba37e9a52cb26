/**
 * The tests' payload keys: fixed, so a history recorded encrypted by one run replays in the next, and never a
 * production secret. `test2` is listed (it opens) but not active, for rotation tests.
 */
export const TEST_PAYLOAD_KEYS = `test2:${Buffer.alloc(32, 8).toString('base64')},test:${Buffer.alloc(32, 9).toString('base64')}`;
