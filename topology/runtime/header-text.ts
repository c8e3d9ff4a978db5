/**
 * Text made safe to carry in a header another system will read (a DLQ record's error message): an
 * error can quote the bad input it choked on, NUL and control characters included.
 */

/** The DLQ's `error.message` limit, in bytes of UTF-8 (not characters: that is what a header costs). */
export const MAX_HEADER_TEXT_BYTES = 1_000

const ELLIPSIS = '…'

/**
 * Control characters (C0, DEL, C1) are escaped as `\uXXXX` so they stay visible, lone surrogates
 * become U+FFFD (they have no UTF-8 form), and the result is cut to `maxBytes` at a character
 * boundary, ending with `…` when cut.
 */
export function headerText(text: string, maxBytes = MAX_HEADER_TEXT_BYTES): string {
  const safe = text
    .toWellFormed()
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  const encoded = Buffer.from(safe, 'utf8')
  if (encoded.length <= maxBytes) return safe
  let end = Math.max(0, maxBytes - Buffer.byteLength(ELLIPSIS))
  // Back up over continuation bytes (10xxxxxx) so no character is cut in half.
  while (end > 0 && (encoded[end]! & 0xc0) === 0x80) end--
  return `${encoded.subarray(0, end).toString('utf8')}${ELLIPSIS}`
}
