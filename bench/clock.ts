import { performance } from 'node:perf_hooks';

/**
 * Wall-clock ms with sub-ms resolution, comparable across the bench's processes on one machine
 * (each process's timeOrigin is read from the same system clock).
 */
export const clockMs = (): number => performance.timeOrigin + performance.now();
