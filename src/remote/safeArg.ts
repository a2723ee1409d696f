/** The one rule for what goes to a remote shell unquoted: arguments of the characters every
 * POSIX shell reads as themselves. commands.ts enforces it; names routegen builds obey it. */
export const SAFE_ARG = /^[A-Za-z0-9_@%+=:,./-]+$/;
