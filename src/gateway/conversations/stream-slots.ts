import { AppError } from '../../errors.js';

/** How many turn streams one gateway process keeps open, in all and for one project. */
export interface StreamLimits {
  maxPerProcess: number;
  maxPerProject: number;
}

/** Thrown when a stream would exceed a limit; answered 429 before the stream starts. */
export class TooManyStreamsError extends AppError {
  constructor(scope: 'gateway' | 'project', limit: number) {
    super(429, 'too_many_streams', `this ${scope} already has ${limit} open event streams or waiting requests on this gateway; close one or retry later`, { scope, limit });
  }
}

/**
 * Counts the open streams of this process. Each stream holds a socket, a subscription and a timer for as
 * long as the client wants, so one tenant must not hold them without bound.
 */
export class StreamSlots {
  private open = 0;
  private readonly byProject = new Map<string, number>();

  constructor(private readonly limits: StreamLimits) {}

  /** Takes a slot for the project or throws {@link TooManyStreamsError}; the returned function gives it back once. */
  acquire(projectId: string): () => void {
    const mine = this.byProject.get(projectId) ?? 0;
    if (this.open >= this.limits.maxPerProcess) throw new TooManyStreamsError('gateway', this.limits.maxPerProcess);
    if (mine >= this.limits.maxPerProject) throw new TooManyStreamsError('project', this.limits.maxPerProject);
    this.open += 1;
    this.byProject.set(projectId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open -= 1;
      const left = (this.byProject.get(projectId) ?? 1) - 1;
      if (left === 0) this.byProject.delete(projectId);
      else this.byProject.set(projectId, left);
    };
  }
}
