/**
 * Resources acquired together: either all of them, or none left behind. When one fails, the
 * others (which may still be on their way) are released once they arrive, and the first failure
 * is thrown.
 */
export async function allOrNone<T>(acquiring: ReadonlyArray<Promise<T>>, release: (resource: T) => unknown): Promise<T[]> {
  const settled = await Promise.allSettled(acquiring);
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed === undefined) return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
  await Promise.allSettled(
    settled.map(async (result) => {
      if (result.status === 'fulfilled') await release(result.value);
    }),
  );
  throw failed.reason;
}
