// The HTML value type of the inspector's templates, and escaping for the few strings built by hand.
//
// Why hono/html tagged templates and not Hono's JSX: the service runs .ts files through Node 24's type
// stripping, which removes types but does not transform JSX, so .tsx files cannot run without a build
// step. `html\`...\`` escapes every interpolated value (text and attributes) unless it is itself a
// template result, which gives JSX's safety with plain TypeScript.
import type { HtmlEscapedString } from "hono/utils/html";

/** What an `html` template (or `raw`) evaluates to. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML content or a quoted attribute (for strings assembled outside `html`).
 * @example esc("<b>") // "&lt;b&gt;"
 */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch] ?? ch);
}
