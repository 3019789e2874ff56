export default async function globalTeardown(): Promise<void> {
  await globalThis.__NIU_DEV_SERVER__?.stop();
}
