/**
 * Ties an {@link IntLineWatcher} to a {@link ChipSupervisor}: every INT edge services the chip at
 * once, and slow polls cover what an edge cannot (docs/mcp23017.md §7.2).
 *
 * - Edge: `supervisor.serviceNow()`, which reads INTF, INTCAP and GPIO (one 6-byte read) and repeats
 *   until no flag is left, so a change that lands while servicing is not lost. Edges that arrive
 *   during a service share it and force one more round.
 * - Safety poll while gpiomon is watching (default every 1000 ms after the last service): if the INT
 *   line is stuck asserted (a missed clear, a compare-mode pin held against DEFVAL, a chip that came
 *   back from a power glitch with an interrupt pending), no edge will ever come; the poll still
 *   reads the inputs, and its read clears the interrupt so edges resume.
 * - Fallback poll while gpiomon is not watching (starting, restarting, missing, failed): inputs keep
 *   working at the polling rate.
 * - When gpiomon starts watching, one service at once: an interrupt asserted before the line was
 *   requested produced no edge.
 *
 * Give the supervisor `pollInterval: 0` in this mode; the timing lives here. The watcher's life
 * cycle (start/stop) stays with the caller.
 */
import type { ChipSupervisor } from './supervisor';
import type { EventEmitter } from 'node:events';
import type { IntLineEdge, IntLineEvents, IntLineStatus } from './int-line';

/** What attachIntLine needs of a line watcher: gpiomon's IntLineWatcher, or the simulator's SimulatedIntLine. */
export type IntLineSource = Pick<EventEmitter<IntLineEvents>, 'on' | 'off'> & { readonly status: IntLineStatus };

export interface IntLineServiceOptions {
  /** While the INT line is watched, service at least this often (ms, 0 = never). Default 1000. */
  safetyPollMs?: number;
  /** While it is not (gpiomon missing, failed, restarting), poll this often (ms, 0 = never). Default 100. */
  fallbackPollMs?: number;
}

export interface IntLineAttachment {
  /** Edges received since attaching. */
  readonly edges: number;
  /** 'interrupt' while gpiomon watches the line, 'polling' otherwise. */
  readonly mode: 'interrupt' | 'polling';
  /** Removes the listeners and the poll timer (does not stop the watcher or the supervisor). */
  detach(): void;
}

export function attachIntLine(supervisor: ChipSupervisor, watcher: IntLineSource, options: IntLineServiceOptions = {}): IntLineAttachment {
  const safetyPollMs = options.safetyPollMs ?? 1000;
  const fallbackPollMs = options.fallbackPollMs ?? 100;
  let edges = 0;
  let timer: NodeJS.Timeout | undefined;
  let detached = false;

  const watching = () => watcher.status.state === 'watching';

  /** (Re)arms the poll: the interval counts from the last service, whatever triggered it. */
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (detached) return;
    // A compare-mode pin held against its default keeps INT asserted, hiding the edges of other
    // changes: poll at the fallback rate until it is released.
    const held = supervisor.interruptHeld && fallbackPollMs > 0;
    const interval = watching() ? (held ? Math.min(fallbackPollMs, safetyPollMs || fallbackPollMs) : safetyPollMs) : fallbackPollMs;
    if (interval > 0) timer = setTimeout(() => void service(), interval);
  };

  const service = async () => {
    if (detached) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    try {
      await supervisor.serviceNow();
    } finally {
      schedule();
    }
  };

  const onEdge = (_edge: IntLineEdge) => {
    edges++;
    void service();
  };
  const onStatus = (status: IntLineStatus) => {
    if (status.state === 'stopped') attachment.detach(); // the watcher is done: no timer may outlive it
    else if (status.state === 'watching') void service();
    else schedule();
  };

  watcher.on('edge', onEdge);
  watcher.on('status', onStatus);
  schedule();

  const attachment: IntLineAttachment = {
    get edges() {
      return edges;
    },
    get mode() {
      return watching() ? 'interrupt' : 'polling';
    },
    detach() {
      if (detached) return;
      detached = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      watcher.off('edge', onEdge);
      watcher.off('status', onStatus);
    },
  };
  return attachment;
}
