/** An error meant for the user: the CLI prints its message as one line, never a stack trace. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * A UserError about how the command was called (an option or environment variable with a bad value):
 * the CLI exits 2 for it, as for commander's own usage errors, instead of 1 for failed work.
 */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
