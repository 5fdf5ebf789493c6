import { describe, expect, it } from 'vitest';
import { allOrNone } from '../../electron/base/all-or-none.js';

describe('allOrNone', () => {
  it('gives every resource when all arrive', async () => {
    expect(await allOrNone([Promise.resolve(1), Promise.resolve(2)], () => {})).toEqual([1, 2]);
  });

  it('releases the ones that arrived, late ones included, and throws the first failure', async () => {
    const released: number[] = [];
    const late = new Promise<number>((resolve) => setTimeout(() => resolve(3), 20));
    const acquiring = [Promise.resolve(1), Promise.reject(new Error('port taken')), late, Promise.reject(new Error('second failure'))];
    await expect(allOrNone(acquiring, async (resource) => void released.push(resource))).rejects.toThrow('port taken');
    expect(released.sort()).toEqual([1, 3]);
  });
});
