// The one error shape that crosses every boundary (IPC, WebSocket, CLI output): {kind, message}.
import { ContractError, type ErrorInfo } from '../common/contract.ts';

/** Kind and message of anything a method or job threw; an error without a kind is 'internal'. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof ContractError) return { kind: 'bad-request', message: err.message };
  if (err instanceof Error) {
    const kind = (err as { kind?: unknown }).kind;
    return { kind: typeof kind === 'string' && kind ? kind : 'internal', message: err.message };
  }
  return { kind: 'internal', message: String(err) };
}

/** An Error with a contract `kind`. */
export function kindError(kind: string, message: string): Error & { kind: string } {
  return Object.assign(new Error(message), { kind });
}
