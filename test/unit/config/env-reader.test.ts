// EnvReader: typed settings from an environment map, every problem collected (so one start-up
// message lists them all), the fallback returned in place of a bad value.
import { describe, expect, it } from 'vitest';
import { EnvReader } from '../../../src/config/env-reader.js';

/** A problem names the variable, the allowed values and the raw value given. */
function expectProblem(problem: string | undefined, name: string, allowed: string[], raw: string): void {
  expect(problem).toBeDefined();
  expect(problem).toContain(`\`${name}\``);
  for (const a of allowed) expect(problem).toContain(a);
  expect(problem).toContain(`\`${raw}\``);
}

describe('EnvReader blank values', () => {
  it.each(['', ' ', '\t \n'])('%j is the same as unset for every reader, and is no problem', (blank) => {
    const read = new EnvReader({ X: blank });
    expect(read.text('X')).toBeUndefined();
    expect(read.int('X', 5, 0, 10)).toBe(5);
    expect(read.number('X', 0.5, 0, 1)).toBe(0.5);
    expect(read.oneOf('X', 'a', ['a', 'b'])).toBe('a');
    expect(read.list('X', ['d'], () => false, 'anything')).toEqual(['d']);
    expect(read.ints('X', [1, 2], 0, 9)).toEqual([1, 2]);
    expect(read.problems).toEqual([]);
  });

  it('an unset variable gives the fallback with no problem', () => {
    const read = new EnvReader({});
    expect(read.text('X')).toBeUndefined();
    expect(read.int('X', 5, 0, 10)).toBe(5);
    expect(read.problems).toEqual([]);
  });
});

describe('EnvReader.text', () => {
  it('gives a set value as it is', () => {
    expect(new EnvReader({ X: 'redis://h:1' }).text('X')).toBe('redis://h:1');
  });
});

describe('EnvReader.int', () => {
  it.each([
    ['0', 0],
    ['10', 10],
    ['-3', -3],
    [' 7 ', 7],
  ])('accepts %j as %d within range', (raw, value) => {
    const read = new EnvReader({ N: raw });
    expect(read.int('N', 99, -5, 10)).toBe(value);
    expect(read.problems).toEqual([]);
  });

  it.each(['11', '-6', '1.5', '1e1', '0x5', 'five', '3abc', '9007199254740993'])('refuses %j: fallback, and a problem naming variable, range and value', (raw) => {
    const read = new EnvReader({ N: raw });
    expect(read.int('N', 4, -5, 10)).toBe(4);
    expect(read.problems).toHaveLength(1);
    expectProblem(read.problems[0], 'N', ['integer', '-5', '10'], raw);
  });
});

describe('EnvReader.number', () => {
  it.each([
    ['0.2', 0.2],
    ['600', 600],
    ['1e2', 100],
    ['3', 3],
  ])('accepts %j as %d within range', (raw, value) => {
    const read = new EnvReader({ S: raw });
    expect(read.number('S', 1, 0.2, 600)).toBe(value);
    expect(read.problems).toEqual([]);
  });

  it.each(['0.1', '601', 'Infinity', 'NaN', 'soon', '1,5'])('refuses %j: fallback, and a problem naming variable, range and value', (raw) => {
    const read = new EnvReader({ S: raw });
    expect(read.number('S', 1, 0.2, 600)).toBe(1);
    expectProblem(read.problems[0], 'S', ['number', '0.2', '600'], raw);
  });
});

describe('EnvReader.oneOf', () => {
  it('accepts an allowed value', () => {
    const read = new EnvReader({ P: 'drop' });
    expect(read.oneOf('P', 'disconnect', ['disconnect', 'drop'])).toBe('drop');
    expect(read.problems).toEqual([]);
  });

  it.each(['DROP', 'dro', 'close'])('refuses %j: fallback, and a problem listing the allowed values', (raw) => {
    const read = new EnvReader({ P: raw });
    expect(read.oneOf('P', 'disconnect', ['disconnect', 'drop'])).toBe('disconnect');
    expectProblem(read.problems[0], 'P', ['disconnect', 'drop'], raw);
  });
});

describe('EnvReader.list', () => {
  const isVariant = (x: string): boolean => x === 'baseline' || /^uws-\d$/.test(x);

  it('splits on commas, trims, and skips empty items', () => {
    const read = new EnvReader({ L: ' baseline, uws-1,,uws-2 ' });
    expect(read.list('L', [], isVariant, 'variants')).toEqual(['baseline', 'uws-1', 'uws-2']);
    expect(read.problems).toEqual([]);
  });

  it.each(['baseline,nope', 'uws-1,uws-22', ',', ' , ,'])('refuses %j whole (a bad item, or no item): fallback, and a problem with what is expected', (raw) => {
    const read = new EnvReader({ L: raw });
    expect(read.list('L', ['baseline'], isVariant, 'variants like baseline,uws-1')).toEqual(['baseline']);
    expectProblem(read.problems[0], 'L', ['variants like baseline,uws-1'], raw);
  });
});

describe('EnvReader.ints', () => {
  it('reads comma-separated integers within range, as numbers', () => {
    const read = new EnvReader({ I: '1, 16,256' });
    expect(read.ints('I', [], 1, 1024)).toEqual([1, 16, 256]);
    expect(read.problems).toEqual([]);
  });

  it.each(['1,2048', '0,1', '1,-2', '1,2.5', 'a'])('refuses %j whole: fallback, and a problem naming variable, range and value', (raw) => {
    const read = new EnvReader({ I: raw });
    expect(read.ints('I', [8], 1, 1024)).toEqual([8]);
    expectProblem(read.problems[0], 'I', ['integers', '1', '1024'], raw);
  });
});

describe('EnvReader problems', () => {
  it('collects every problem, in reading order, instead of stopping at the first', () => {
    const read = new EnvReader({ A: 'x', B: '5', C: 'maybe', D: '1,,x' });
    expect(read.int('A', 1, 0, 9)).toBe(1);
    expect(read.int('B', 2, 0, 9)).toBe(5); // a good value between bad ones
    expect(read.oneOf('C', 'no', ['yes', 'no'])).toBe('no');
    expect(read.ints('D', [3], 0, 9)).toEqual([3]);
    expect(read.problems).toHaveLength(3);
    expectProblem(read.problems[0], 'A', ['0', '9'], 'x');
    expectProblem(read.problems[1], 'C', ['yes, no'], 'maybe');
    expectProblem(read.problems[2], 'D', ['0', '9'], '1,,x');
  });

  it('problem() records a caller\'s own check and returns its fallback', () => {
    const read = new EnvReader({});
    expect(read.problem('`T` must be set with `U`', 'fb')).toBe('fb');
    expect(read.problems).toEqual(['`T` must be set with `U`']);
  });
});
