/** What a benchmark needs besides node_modules, from the flags before its file. */
export interface BenchNeeds {
  temporal: boolean;
  pgvector: boolean;
}
/** Splits `[--temporal] [--pgvector] <bench file> [bench args]`. */
export function parseBenchArgs(argv: string[]): { needs: BenchNeeds; bench: string; args: string[] };
/** Installs what the benchmark needs (install output on stderr); resolves to the environment additions it runs with. */
export function prepareBench(needs: BenchNeeds, env?: NodeJS.ProcessEnv): Promise<Record<string, string>>;
/** Runs the benchmark under this Node with tsx, passing signals on once; resolves to its exit code. */
export function runBenchProcess(bench: string, args: string[], env: NodeJS.ProcessEnv): Promise<number>;
