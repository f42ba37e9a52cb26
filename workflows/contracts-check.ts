/**
 * Compile-time check that every registered workflow matches its signature in `contracts/workflow-io.ts`,
 * which the gateway uses to type its starts. Types only; not part of the workflow bundle.
 */
import type * as registered from './index.js';
import type { Workflows } from './contracts/index.js';

type Holds<T extends true> = T;
type Matches = { [K in keyof Workflows]: (typeof registered)[K] extends Workflows[K] ? true : false }[keyof Workflows];
/** `true` when the registered workflows and the contracts agree; a compile error otherwise. */
export type WorkflowsMatchContracts = Holds<Matches extends true ? true : false>;
/** Every contract has a registered workflow and every registered workflow has a contract. */
export type SameNames = Holds<[keyof typeof registered] extends [keyof Workflows] ? ([keyof Workflows] extends [keyof typeof registered] ? true : false) : false>;
