/**
 * Host I/O failures in plain words. Deno's own error text (`Permission denied (os error 13):
 * open '/x'`) names internals a person running the setup cannot act on, and repeats the path
 * the caller's message already names; so every message about a file, directory or lock says
 * what went wrong with {@linkcode describeIoError} instead: "no such file or directory",
 * "permission denied", ...
 *
 * @example
 * ```ts
 * import { describeIoError } from "./io_errors.ts";
 * try {
 *   Deno.readTextFileSync("/no/such/file");
 * } catch (error) {
 *   `Cannot read /no/such/file: ${describeIoError(error)}`; // "Cannot read /no/such/file: no such file or directory"
 * }
 * ```
 *
 * @module
 */

/** Linux error names with their numbers (x86_64 and aarch64 agree) and their plain words. */
const ERRORS: Readonly<Record<string, readonly [number, string]>> = {
  EPERM: [1, "operation not permitted"],
  ENOENT: [2, "no such file or directory"],
  EIO: [5, "an input/output error"],
  EBADF: [9, "bad file descriptor"],
  EAGAIN: [11, "resource temporarily unavailable"],
  ENOMEM: [12, "out of memory"],
  EACCES: [13, "permission denied"],
  EBUSY: [16, "device or resource busy"],
  EEXIST: [17, "it already exists"],
  EXDEV: [18, "it is on another file system"],
  ENOTDIR: [20, "a part of the path is not a directory"],
  EISDIR: [21, "it is a directory, not a file"],
  EINVAL: [22, "the file system does not support this"],
  ENFILE: [23, "too many open files on the system"],
  EMFILE: [24, "too many open files"],
  EFBIG: [27, "the file is too large"],
  ENOSPC: [28, "no space left on the device"],
  EROFS: [30, "the file system is read-only"],
  ENAMETOOLONG: [36, "the name is too long"],
  ENOLCK: [37, "no locks available"],
  ELOOP: [40, "too many levels of symbolic links, or a symbolic link where none is allowed"],
  EOPNOTSUPP: [95, "the file system does not support this"],
  EDQUOT: [122, "the disk quota is exceeded"],
};

/** Deno's error classes whose meaning does not depend on a code. */
const CLASSES: readonly [new (...args: never[]) => Error, string][] = [
  [Deno.errors.NotFound, "no such file or directory"],
  [Deno.errors.PermissionDenied, "permission denied"],
  [Deno.errors.NotCapable, "this program was not granted access to it"],
  [Deno.errors.IsADirectory, "it is a directory, not a file"],
  [Deno.errors.NotADirectory, "a part of the path is not a directory"],
  [Deno.errors.AlreadyExists, "it already exists"],
  [Deno.errors.InvalidData, "it is not valid UTF-8 text"],
  [Deno.errors.FilesystemLoop, "too many levels of symbolic links"],
  [Deno.errors.Busy, "device or resource busy"],
];

/**
 * What a Linux error number (`errno` of a C library call) means, in plain words.
 *
 * @param errno E.g. `13`.
 * @returns E.g. `"permission denied"`; `"an unexpected error (errno 99)"` for one not listed.
 *
 * @example
 * ```ts
 * import { describeErrno } from "./io_errors.ts";
 * describeErrno(30); // "the file system is read-only"
 * ```
 */
export function describeErrno(errno: number): string {
  const name = Object.entries(ERRORS).find(([, [number]]) => number === errno)?.[0];
  return name === undefined ? `an unexpected error (errno ${errno})` : ERRORS[name][1];
}

/**
 * What went wrong, in plain words, for an error of a host file-system operation: a Deno error
 * (by its class, else by its `code`), or an error name such as `"EACCES"`. Never Deno's own
 * message: an error this module cannot name is "an unexpected error" with its code, if any.
 * Errors that are not I/O errors (ours) keep their message.
 *
 * @param error The caught error, or an error name (`"EROFS"`).
 * @returns A lower-case phrase to follow "Cannot ... <path>: ".
 *
 * @example
 * ```ts
 * import { describeIoError } from "./io_errors.ts";
 * describeIoError(new Deno.errors.PermissionDenied("Permission denied (os error 13)")); // "permission denied"
 * describeIoError("EROFS"); // "the file system is read-only"
 * ```
 */
export function describeIoError(error: unknown): string {
  if (typeof error === "string") {
    return ERRORS[error]?.[1] ?? `an unexpected error (${error})`;
  }
  const code = (error as { code?: unknown })?.code;
  // The code is more precise than the class: EROFS and EACCES are both PermissionDenied.
  if (typeof code === "string" && Object.hasOwn(ERRORS, code)) return ERRORS[code][1];
  for (const [type, words] of CLASSES) if (error instanceof type) return words;
  if (isDenoError(error)) {
    return typeof code === "string" ? `an unexpected error (${code})` : "an unexpected error";
  }
  return error instanceof Error ? error.message : String(error);
}

/** Whether `error` comes from Deno's runtime (a `Deno.errors` class, or carries an OS code). */
function isDenoError(error: unknown): boolean {
  return Object.values(Deno.errors).some((type) => error instanceof type) ||
    typeof (error as { code?: unknown })?.code === "string";
}
