// A small table format for allocator scenarios: a list of steps, each with its expected outcome.
// Every scenario runs against the product Allocator and against the linear-scan reference, so
// the reference used by the property tests is itself held to the tables of docs/behaviour/allocation.md.

import assert from 'node:assert/strict';
import type { Config } from '../../../lib/config/types.js';
import { Allocator, type AllocationResult, type ConfigVerdict, type AllocationRequest } from '../../../lib/allocator/index.js';
import { LinearScanAllocator } from '../../support/reference-allocator.js';
import type { IPAddress } from '../../../lib/ip/index.js';
import { ips, request, texts, type ServiceOptions } from './helpers.js';

export interface AllocatorLike {
  setConfig(config: Config): ConfigVerdict;
  allocate(key: string, request: AllocationRequest): AllocationResult;
  assign(key: string, request: AllocationRequest, ips: readonly IPAddress[]): AllocationResult;
  release(key: string): boolean;
  ipsOf(key: string): readonly IPAddress[] | undefined;
  poolOf(key: string): string | undefined;
}

export interface Failure {
  kind: string;
  /** Exact text, or a pattern. */
  message?: string | RegExp;
  reason?: string;
}

export type Step =
  | { config: Config; refused?: string | RegExp; removed?: string[] }
  | { alloc: string; svc?: ServiceOptions; want?: string[]; pool?: string; changed?: boolean; fail?: Failure }
  | { assign: string; svc?: ServiceOptions; ips: string[]; want?: string[]; pool?: string; fail?: Failure }
  | { release: string; released?: boolean }
  | { holds: string; want: string[] | undefined; pool?: string }
  | { usage: string; inUse: number; services: number; total?: bigint };

export interface Scenario {
  name: string;
  steps: Step[];
}

function checkResult(r: AllocationResult, step: { want?: string[]; pool?: string; changed?: boolean; fail?: Failure }, where: string): void {
  if (step.fail) {
    assert.equal(r.ok, false, `${where}: expected a failure, got ${JSON.stringify(r.ok ? texts(r.ips) : null)}`);
    if (r.ok) return;
    assert.equal(r.failure.kind, step.fail.kind, `${where}: failure kind (${r.failure.message})`);
    if (typeof step.fail.message === 'string') assert.equal(r.failure.message, step.fail.message, where);
    else if (step.fail.message) assert.match(r.failure.message, step.fail.message, where);
    if (step.fail.reason) assert.equal(r.failure.kind === 'sharing' ? r.failure.reason : undefined, step.fail.reason, where);
    return;
  }
  assert.ok(r.ok, `${where}: unexpected failure: ${r.ok ? '' : r.failure.message}`);
  if (!r.ok) return;
  if (step.want) assert.deepEqual(texts(r.ips), step.want, where);
  if (step.pool) assert.equal(r.pool, step.pool, where);
  if (step.changed !== undefined) assert.equal(r.changed, step.changed, where);
}

export function runScenario(a: AllocatorLike, s: Scenario): void {
  s.steps.forEach((step, i) => {
    const where = `${s.name}, step ${i + 1}`;
    if ('config' in step) {
      const v = a.setConfig(step.config);
      if (step.refused) {
        assert.equal(v.ok, false, `${where}: config should be refused`);
        if (!v.ok) {
          if (typeof step.refused === 'string') assert.equal(v.message, step.refused, where);
          else assert.match(v.message, step.refused, where);
        }
      } else {
        assert.ok(v.ok, `${where}: config refused: ${v.ok ? '' : v.message}`);
        if (v.ok && step.removed) assert.deepEqual(v.removedPools, step.removed, where);
      }
    } else if ('alloc' in step) {
      checkResult(a.allocate(step.alloc, request(step.svc)), step, where);
    } else if ('assign' in step) {
      checkResult(a.assign(step.assign, request(step.svc), ips(...step.ips)), step, where);
    } else if ('release' in step) {
      assert.equal(a.release(step.release), step.released ?? true, where);
    } else if ('holds' in step) {
      assert.deepEqual(texts(a.ipsOf(step.holds)), step.want, where);
      if (step.pool !== undefined) assert.equal(a.poolOf(step.holds), step.pool, where);
    } else if ('usage' in step) {
      if (a instanceof Allocator) {
        const u = a.poolUsage(step.usage);
        assert.ok(u, `${where}: no usage for pool ${step.usage}`);
        assert.equal(u.addressesInUse, step.inUse, `${where}: addresses in use`);
        assert.equal(u.services, step.services, `${where}: services`);
        if (step.total !== undefined) assert.equal(u.addressesTotal, step.total, `${where}: total`);
      } else if (a instanceof LinearScanAllocator) {
        assert.equal(a.addressesInUse(step.usage), step.inUse, `${where}: addresses in use (reference)`);
      }
    }
  });
}

export const implementations: { name: string; make: () => AllocatorLike }[] = [
  { name: 'Allocator', make: () => new Allocator() },
  { name: 'reference', make: () => new LinearScanAllocator() },
];
