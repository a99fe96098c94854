/**
 * Input subscriptions for supervisor tests that only need polling to run (the events they check come
 * from the supervisor's 'input' event): watchAll subscribes to every pin, unwatchAll closes it.
 */
import type { ChipSupervisor, InputSubscription } from '../../lib';

const subscriptions = new WeakMap<ChipSupervisor, InputSubscription[]>();

export function watchAll(s: ChipSupervisor): InputSubscription {
  const sub = s.subscribeInputs(0xffff, { baseline: () => undefined, changes: () => undefined });
  const list = subscriptions.get(s) ?? [];
  list.push(sub);
  subscriptions.set(s, list);
  return sub;
}

export function unwatchAll(s: ChipSupervisor): void {
  subscriptions.get(s)?.pop()?.close();
}
