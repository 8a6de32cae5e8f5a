import 'reflect-metadata';
import { container, inject, injectable } from 'tsyringe';
import { describe, expect, it } from 'vitest';

// vitest's compiler emits no decorator metadata: explicit tokens must be enough.
const GREETING = Symbol('greeting');

@injectable()
class Greeter {
  constructor(@inject(GREETING) readonly greeting: string) {}
}

describe('tsyringe under vitest', () => {
  it('resolves explicit-token injection and child containers', () => {
    const child = container.createChildContainer();
    child.register(GREETING, { useValue: 'hello' });
    expect(child.resolve(Greeter).greeting).toBe('hello');
    const grandchild = child.createChildContainer();
    grandchild.register(GREETING, { useValue: 'other' });
    expect(grandchild.resolve(Greeter).greeting).toBe('other');
    expect(child.resolve(Greeter).greeting).toBe('hello');
  });
});
