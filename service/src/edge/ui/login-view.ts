// The inspector's sign-in page: browsers cannot send a Bearer header, so the key goes into an HttpOnly cookie.
import { html } from "hono/html";
import type { Html } from "./ui-html.ts";
import { layout } from "./ui-layout.ts";

/**
 * The sign-in form, with the reason of a refused attempt if any.
 * @example loginPage("that key was revoked")
 */
export function loginPage(error?: string): Html {
  const body = html`<h1>Sign in</h1>
    <p>This service requires an API key. Create one with <code>mend keys create --tenant NAME</code>.</p>
    ${error ? html`<p role="alert" class="failure">${error}</p>` : ""}
    <form method="post" action="/ui/login">
      <label for="key">API key</label>
      <input
        id="key"
        name="key"
        type="password"
        autocomplete="current-password"
        required
        autofocus
        size="60"
      />
      <button type="submit">Sign in</button>
    </form>`;
  return layout({ title: "Sign in", page: "runs", body });
}
