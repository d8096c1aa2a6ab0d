import assert from "node:assert/strict";
import { describeErrno, describeIoError } from "../../../lib/core/io_errors.ts";

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail("nothing was thrown");
}

Deno.test("describeIoError says real Deno errors in plain words, without Deno's text", () => {
  const cases: [() => unknown, string][] = [
    [() => Deno.readTextFileSync("/no/such/file"), "no such file or directory"],
    [() => Deno.readTextFileSync("/"), "it is a directory, not a file"],
    [() => Deno.mkdirSync("/etc/passwd/x"), "a part of the path is not a directory"],
    [() => Deno.mkdirSync("/sys/phoenix"), "operation not permitted"],
    [() => Deno.openSync("/sys/phoenix.lock", { write: true, create: true }), "permission denied"],
    [() => Deno.mkdirSync("/"), "it already exists"],
  ];
  for (const [fn, words] of cases) {
    const error = caught(fn);
    assert.equal(describeIoError(error), words, String(error));
    assert.doesNotMatch(describeIoError(error), /os error|'\//);
  }
});

Deno.test("describeIoError prefers the code to the class: EROFS is not 'permission denied'", () => {
  const error = Object.assign(
    new Deno.errors.PermissionDenied("Read-only file system (os error 30)"),
    {
      code: "EROFS",
    },
  );
  assert.equal(describeIoError(error), "the file system is read-only");
});

Deno.test("describeIoError never passes on the text of a Deno error it cannot name", () => {
  const error = Object.assign(new Error("Weird thing (os error 1234): open '/x'"), {
    code: "EWEIRD",
  });
  assert.equal(describeIoError(error), "an unexpected error (EWEIRD)");
  assert.equal(
    describeIoError(new Deno.errors.BrokenPipe("Broken pipe (os error 32)")),
    "an unexpected error",
  );
});

Deno.test("describeIoError keeps the message of our own errors, and names error codes", () => {
  assert.equal(describeIoError(new RangeError("expected digits")), "expected digits");
  assert.equal(describeIoError("ENOSPC"), "no space left on the device");
  assert.equal(describeIoError("EWHAT"), "an unexpected error (EWHAT)");
});

Deno.test("describeErrno names Linux error numbers", () => {
  assert.equal(describeErrno(13), "permission denied");
  assert.equal(
    describeErrno(40),
    "too many levels of symbolic links, or a symbolic link where none is allowed",
  );
  assert.equal(describeErrno(9999), "an unexpected error (errno 9999)");
});
