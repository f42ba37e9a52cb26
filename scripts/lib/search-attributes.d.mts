/** Custom search attributes as `[name, type]`; mirrors workflows/shared.ts. */
export const searchAttributeDefinitions: ReadonlyArray<readonly [string, 'Keyword' | 'Int']>;
