/**
 * One driver per chip, however many configuration nodes name it.
 *
 * A {@link ChipHub} belongs to one runtime (Node-RED creates it once, in the iopi-chip module
 * function; a program using the library makes its own). It hands out a {@link ChipSession} (driver +
 * supervisor) per backend, bus and address, reference-counted by its owners: two iopi-chip nodes for
 * 0x20 on bus 1 (two imported examples, say) share one register cache instead of overwriting each
 * other's configuration for ever. The first owner's chip-wide settings apply; an owner whose settings
 * differ is told which ones (and so are the others), see {@link ChipSession.settingsConflicts}.
 *
 * When the last owner leaves, the session stops and the hub remembers what was known of the inputs
 * and the direction/polarity they were read under. The next session of that chip starts from it, so
 * a change that happens while a flow is being redeployed is reported once the new nodes run.
 *
 * Pin claims of every user of every owner are kept here too, so a pin used in two directions is found
 * across configuration nodes (see ./claims.ts).
 */
import { EventEmitter } from 'node:events';
import type { Backend } from './i2c';
import { Mcp23017, type InterruptOutputOptions } from './driver';
import { ChipSupervisor, type InputMemory, type SupervisorOptions } from './supervisor';
import { findConflicts, type ClaimConflict, type PinClaim } from './claims';
import type { Clock } from './clock';

/** Where a chip is. */
export interface ChipPlace {
  backend: Backend;
  busNumber: number;
  address: number;
}

/** The settings that apply to the whole chip (not to single pins). */
export interface ChipSettings {
  /** 'poll': service every `pollInterval` ms; 'intline': when the INT line fires. */
  mode: 'poll' | 'intline';
  pollInterval: number;
  /** INT line name (intline mode). */
  intLine?: string;
  interruptOutput: InterruptOutputOptions;
  /** How long a write may wait for the chip before it is given up (ms). */
  writeWaitMs: number;
}

const SETTING_NAMES: Record<string, string> = {
  mode: 'interrupt mode',
  pollInterval: 'poll interval',
  intLine: 'INT line',
  mirror: 'INT mirror',
  openDrain: 'INT open-drain',
  activeHigh: 'INT active-high',
  writeWaitMs: 'write wait time',
};

/** The chip-wide settings that differ between two owners, e.g. "poll interval: 50 here, 20 in effect". */
export function settingDifferences(effective: ChipSettings, wanted: ChipSettings): string[] {
  const flat = (s: ChipSettings): Record<string, unknown> => ({
    mode: s.mode, pollInterval: s.mode === 'poll' ? s.pollInterval : undefined, intLine: s.mode === 'intline' ? s.intLine : undefined,
    mirror: s.interruptOutput.mirror, openDrain: s.interruptOutput.openDrain, activeHigh: s.interruptOutput.openDrain ? undefined : s.interruptOutput.activeHigh,
    writeWaitMs: s.writeWaitMs,
  });
  const a = flat(effective);
  const b = flat(wanted);
  return Object.keys(SETTING_NAMES)
    .filter((key) => a[key] !== b[key])
    .map((key) => `${SETTING_NAMES[key]} ${String(b[key] ?? '-')} (in effect: ${String(a[key] ?? '-')})`);
}

export interface SessionEvents {
  /** Pin claims changed: recompute conflicts. */
  claims: [];
  /** An owner joined or left: settings conflicts may have changed. */
  owners: [];
}

/** What an owner is told when it joins. */
export interface Ownership {
  session: ChipSession;
  /** This owner's settings that do not apply because an earlier owner's do (empty: none). */
  differences: string[];
}

/** A resource tied to the session's life, e.g. an INT-line watcher. */
export interface SessionResource {
  /** Called when the session starts (at once if it has started). */
  start?(): void;
  stop(): Promise<void> | void;
}

export class ChipSession extends EventEmitter<SessionEvents> {
  readonly driver: Mcp23017;
  readonly supervisor: ChipSupervisor;
  /** The settings in effect (the first owner's). */
  readonly settings: ChipSettings;
  readonly place: ChipPlace;
  private readonly owners = new Map<string, { settings: ChipSettings; differences: string[] }>();
  private readonly claimMap = new Map<string, PinClaim>();
  private readonly resources: SessionResource[] = [];
  private stopping: Promise<void> | undefined;
  private started = false;

  /** @internal created by {@link ChipHub.acquire}. */
  constructor(place: ChipPlace, settings: ChipSettings, memory: InputMemory | undefined, extra: { clock?: Clock; supervisor?: Partial<SupervisorOptions> }) {
    super();
    this.place = place;
    this.settings = settings;
    this.driver = new Mcp23017({
      busNumber: place.busNumber,
      address: place.address,
      backend: place.backend,
      interruptOutput: settings.interruptOutput,
      writeWaitMs: settings.writeWaitMs,
      previousConfig: memory?.config,
      clock: extra.clock,
    });
    const intLine = settings.mode === 'intline';
    // With the INT line, each edge's service read is repeated until no flag is left (stopping when
    // reads repeat: a held compare-mode pin), so a change landing during servicing is read at once
    // even if its edge was hidden. Polling needs one read: whatever latches later, the next poll reads.
    this.supervisor = new ChipSupervisor(this.driver, {
      ...(intLine ? { pollInterval: 0, maxServiceLoops: 8 } : { pollInterval: settings.pollInterval }),
      knownInputs: memory?.known,
      clock: extra.clock,
      ...extra.supervisor,
    });
  }

  /** Ids of the owners (configuration nodes), in the order they joined. */
  get ownerIds(): string[] {
    return [...this.owners.keys()];
  }

  /** Owners whose chip-wide settings differ from those in effect, with what differs. */
  settingsConflicts(): Map<string, string[]> {
    const result = new Map<string, string[]>();
    for (const [id, owner] of this.owners) if (owner.differences.length) result.set(id, owner.differences);
    return result;
  }

  /** Claims pins for a user (`claim.id` is unique per user and direction). */
  claim(claim: PinClaim): void {
    this.claimMap.set(claim.id, { ...claim, mask: claim.mask & 0xffff });
    this.emit('claims');
  }

  /** Drops every claim of a user node. */
  unclaim(user: string): void {
    let changed = false;
    for (const [id, c] of this.claimMap) if (c.user === user) changed = this.claimMap.delete(id) || changed;
    if (changed) this.emit('claims');
  }

  /** Pins claimed in both directions by different users. */
  conflicts(): ClaimConflict[] {
    return findConflicts(this.claimMap.values());
  }

  /** Ties a resource to the session: started with it, stopped when it stops. */
  attach(resource: SessionResource): void {
    this.resources.push(resource);
    if (this.started && !this.stopping) resource.start?.();
  }

  /** Opens the chip (on the next tick) and starts the attached resources; once. */
  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    this.supervisor.start();
    for (const r of this.resources) r.start?.();
  }

  /** @internal */
  join(owner: string, settings: ChipSettings): string[] {
    const differences = settingDifferences(this.settings, settings);
    this.owners.set(owner, { settings, differences });
    this.emit('owners');
    return differences;
  }

  /** @internal returns whether the session has no owner left. */
  leave(owner: string): boolean {
    this.owners.delete(owner);
    for (const [id, c] of this.claimMap) if (c.owner === owner) this.claimMap.delete(id);
    this.emit('claims');
    this.emit('owners');
    return this.owners.size === 0;
  }

  /** @internal */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.allSettled(this.resources.map((r) => r.stop()));
      await this.supervisor.stop();
      this.removeAllListeners();
    })();
    return this.stopping;
  }
}

export class ChipHub {
  private readonly sessions = new Map<Backend, Map<string, ChipSession>>();
  private readonly memory = new Map<Backend, Map<string, InputMemory>>();

  constructor(private readonly extra: { clock?: Clock; supervisor?: Partial<SupervisorOptions> } = {}) {}

  /**
   * The session of the chip at `place`, created (not started) if there is none; `owner` joins it with
   * its `settings`. Call {@link release} with the same owner when done.
   */
  acquire(place: ChipPlace, settings: ChipSettings, owner: string): Ownership {
    const key = `${place.busNumber}:${place.address}`;
    let byPlace = this.sessions.get(place.backend);
    if (!byPlace) this.sessions.set(place.backend, (byPlace = new Map()));
    let session = byPlace.get(key);
    if (!session) {
      session = new ChipSession(place, settings, this.memory.get(place.backend)?.get(key), this.extra);
      byPlace.set(key, session);
    }
    const differences = session.join(owner, settings);
    return { session, differences };
  }

  /** The owner leaves; the last one stops the session (its inputs are remembered for the next one). */
  async release(session: ChipSession, owner: string): Promise<void> {
    if (!session.leave(owner)) return;
    const key = `${session.place.busNumber}:${session.place.address}`;
    const byPlace = this.sessions.get(session.place.backend);
    if (byPlace?.get(key) === session) {
      byPlace.delete(key);
      if (byPlace.size === 0) this.sessions.delete(session.place.backend);
    }
    await session.stop();
    const memory = session.supervisor.inputMemory();
    if (memory) {
      let byBackend = this.memory.get(session.place.backend);
      if (!byBackend) this.memory.set(session.place.backend, (byBackend = new Map()));
      byBackend.set(key, memory);
    }
  }

  /** Sessions running now. */
  get size(): number {
    let n = 0;
    for (const byPlace of this.sessions.values()) n += byPlace.size;
    return n;
  }
}
