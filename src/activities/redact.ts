/**
 * The last line of defence for error text that leaves a connector: whatever a message still holds that looks like
 * an e-mail address is masked before it is logged, recorded as evidence or stored in a Temporal failure. The first
 * line is not to interpolate vendor text at all (the transports keep status, `scimType` and vendor codes, see
 * ConnectorError.details).
 */
const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;

/** The text with e-mail addresses replaced by `[email]`. */
export function redactPersonalData(text: string): string {
  return text.replace(EMAIL, '[email]');
}

/** The error with message and stack redacted in place (the stack's first line repeats the message). */
export function redactError<E extends Error>(err: E): E {
  err.message = redactPersonalData(err.message);
  if (err.stack) err.stack = redactPersonalData(err.stack);
  return err;
}
