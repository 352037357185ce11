// Browsers cannot send a Bearer header, so the inspector keeps the API key in this cookie.

/** The cookie holding a browser's API key (HttpOnly, SameSite=Strict), read by the auth middleware. */
export const KEY_COOKIE = "mend_key";
