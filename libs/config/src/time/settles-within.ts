/**
 * Whether `work` settles, either way, within `ms`. It is not cancelled when it does not: the caller decides what a
 * wait that ran out means (give up on it, force it, say so), instead of waiting for ever.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true as const, () => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}
