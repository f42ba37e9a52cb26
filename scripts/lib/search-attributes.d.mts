/** Custom search attributes as `[name, type]`; mirrors workflows/contracts/temporal.ts. */
export const searchAttributeDefinitions: ReadonlyArray<readonly [string, 'Keyword' | 'Int']>;
