import { disableTokenStackTraces, Token } from '../../stacks/infra/cdktf';

type Traced = { creationStack: string[] };

describe('disableTokenStackTraces', () => {
  test('stops cdktf from recording a stack trace per token', () => {
    const before = Token.asAny('x') as unknown as Traced;
    expect(before.creationStack.length).toBeGreaterThan(0);
    disableTokenStackTraces({});
    const after = Token.asAny('y') as unknown as Traced;
    expect(after.creationStack).toEqual([]);
  });
});
