export const devServerDynamicConfig: string[];
export function devServerDynamicConfigArgs(): string[];
