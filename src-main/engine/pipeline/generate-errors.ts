// Errors of a generation request, typed by kind so the job queue reports them to the artist as they are.
export class GenerateError extends Error {
  constructor(
    readonly kind: 'bad-request' | 'cancelled' | 'wrong-model',
    message: string,
  ) {
    super(message);
  }
}
