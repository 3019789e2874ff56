// The stand-ins that test/helpers/lifecycle.ts returns for what a beforeAll starts: they fail
// loudly when used too early, and once the value exists they read, call and write through to it.
import { later } from '../helpers/lifecycle';

class Counter {
  #count = 0;
  label = 'counter';
  increment(): number {
    return ++this.#count;
  }
}

test('used before the value exists, a stand-in throws and names it; awaiting it does not', async () => {
  const counter = later<Counter>('the counter');
  expect(() => counter.proxy.increment()).toThrow('the counter is used before the beforeAll that starts it ran');
  expect(() => counter.proxy.label).toThrow(/the counter/);
  expect(counter.get()).toBeUndefined();
  // A stand-in handed to `await` or Promise.resolve is not taken for a promise.
  expect(await Promise.resolve(counter.proxy)).toBe(counter.proxy);
});

test('once set, reads, method calls (private fields included) and writes go to the value', () => {
  const counter = later<Counter>('the counter');
  const real = new Counter();
  counter.set(real);
  expect(counter.proxy.label).toBe('counter');
  expect(counter.proxy.increment()).toBe(1);
  const { increment } = counter.proxy;
  expect(increment()).toBe(2);
  counter.proxy.label = 'renamed';
  expect(real.label).toBe('renamed');
  expect('label' in counter.proxy).toBe(true);
  expect({ ...counter.proxy }).toEqual({ label: 'renamed' });
  expect(counter.get()).toBe(real);
});
