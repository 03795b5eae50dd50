/**
 * The CLI's command-line validation and AWS error mapping, without the local stack: usage errors name
 * the flag and exit 2; missing credentials, AccessDenied and ResourceNotFound become one actionable line
 * and exit 1.
 */
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { AwsCallError, CliError, exitCodeOf, UsageError } from "../../bin/cli/errors.ts";
import { COMMANDS } from "../../bin/cli/main.ts";
import { PromptCancelledError, readHiddenLine, readProcessStdin } from "../../bin/cli/runtime.ts";
import { UnknownCredentialError } from "../../lambda/client/errors.ts";
import { GenesysInvalidClientError } from "../../lambda/shared/genesys/errors.ts";
import { startSecretsManagerEmulator } from "../../local/aws/secrets-manager/index.ts";
import { runCli } from "./support.ts";

describe("genesys-rotator command line", () => {
  it("prints the tool's help and every command's help", async () => {
    const tool = await runCli(["--help"]);
    assert.equal(tool.code, 0);
    for (const command of ["seed", "status", "rotate", "recover", "vend"])
      assert.match(tool.stdout, new RegExp(`\\b${command}\\b`));
    for (const command of COMMANDS) {
      const help = await runCli([command.spec.name, "--help"]);
      assert.equal(help.code, 0, command.spec.name);
      assert.match(help.stdout, new RegExp(`^Usage: genesys-rotator ${command.spec.name} \\[options\\]`));
      assert.match(help.stdout, /--region <region>/);
    }
  });

  it("exits 2 without a command and for an unknown command", async () => {
    const none = await runCli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage: genesys-rotator <command> \[options\]/, "help on stderr");
    assert.equal(none.stdout, "");
    const unknown = await runCli(["rotat"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /"rotat" is unknown; commands: seed, status, rotate, recover, vend/);
  });

  it("every command without arguments prints its help on stderr and exits 2; --help on stdout, exit 0", async () => {
    for (const command of COMMANDS) {
      const bare = await runCli([command.spec.name]);
      assert.equal(bare.code, 2, command.spec.name);
      assert.match(bare.stderr, new RegExp(`^Usage: genesys-rotator ${command.spec.name} \\[options\\]`));
      assert.equal(bare.stdout, "", command.spec.name);
      const help = await runCli([command.spec.name, "-h"]);
      assert.equal(help.code, 0, command.spec.name);
      assert.equal(help.stderr, "", command.spec.name);
      assert.match(help.stdout, new RegExp(`^Usage: genesys-rotator ${command.spec.name} \\[options\\]`));
    }
  });

  it("--version prints the package version", async () => {
    const manifest = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8"));
    for (const flag of ["--version", "-V"]) {
      const run = await runCli([flag]);
      assert.equal(run.code, 0);
      assert.equal(run.stdout, `genesys-rotator ${manifest.version}`);
    }
  });

  it("with --json, a failure is one JSON object: name, message, exit code", async () => {
    const usage = await runCli(["status", "--secret-id", "bad name!", "--json"]);
    assert.equal(usage.code, 2);
    assert.equal(usage.stdout, "");
    assert.deepEqual(JSON.parse(usage.stderr), {
      error: {
        name: "UsageError",
        message: "--secret-id must be a secret name of [A-Za-z0-9/_+=.@-] (at most 512) or a secret ARN",
        exitCode: 2,
        retryable: false,
      },
    });
    // Even a command line that does not parse, or an unknown command.
    const unparsable = await runCli(["status", "--bogus", "--json"]);
    assert.equal(JSON.parse(unparsable.stderr).error.message, "--bogus is not an option of status");
    const unknown = await runCli(["rotat", "--json"]);
    assert.equal(JSON.parse(unknown.stderr).error.exitCode, 2);
  });

  it("each error class has its own stable exit code", () => {
    assert.equal(exitCodeOf(new UsageError("--x", "is required")), 2);
    assert.equal(exitCodeOf(new CliError("refused")), 1);
    assert.equal(
      exitCodeOf(new AwsCallError("DescribeSecret", "AccessDeniedException", "denied", undefined, false)),
      3,
    );
    assert.equal(
      exitCodeOf(
        new GenesysInvalidClientError("invalid_client", { operation: "POST /oauth/token", status: 401 }),
      ),
      4,
    );
    assert.equal(exitCodeOf(new UnknownCredentialError("no such credential")), 5);
    assert.equal(exitCodeOf(new Error("anything else")), 1);
  });

  /** `seed` with the flags every seed case shares. */
  const SEED = ["seed", "--secret-id", "s", "--environment", "mypurecloud.ie", "--client-id", "c"];
  const usageCases: { argv: string[]; message: RegExp }[] = [
    { argv: ["status", "--stack", "GenesysOAuthRotator"], message: /--secret-id is required \(or --all/ },
    { argv: ["status", "--all", "--secret-id", "x"], message: /--secret-id is not allowed with --all/ },
    { argv: ["status", "--all", "--table", "tokens"], message: /--table does not apply with --all/ },
    { argv: ["status", "--all", "--stack", "1-bad"], message: /--stack must be a CloudFormation stack name/ },
    { argv: ["status", "--secret-id", "bad name!"], message: /--secret-id must be a secret name/ },
    { argv: ["status", "--secret-id", "x", "--bogus"], message: /--bogus is not an option of status/ },
    { argv: ["status", "--secret-id"], message: /--secret-id needs a value/ },
    { argv: ["status", "--secret-id", "x", "--region", "Europe"], message: /--region must be an AWS region/ },
    {
      argv: ["rotate", "--secret-id", "x", "--timeout-seconds", "5"],
      message: /--timeout-seconds only applies with --wait/,
    },
    {
      argv: ["rotate", "--secret-id", "x", "--wait", "--timeout-seconds", "0"],
      message: /--timeout-seconds must be an integer from 1 to 3600/,
    },
    { argv: ["recover", "--secret-id", "x", "--yes"], message: /--yes only applies with --apply/ },
    { argv: ["vend", "--credential", "app"], message: /--function-name is required \(or use --local\)/ },
    {
      argv: ["rotate", "--secret-id", "x", "--test-only", "--ignore-min-gap"],
      message: /--ignore-min-gap does not apply with --test-only/,
    },
    // A value that looks like a negative number is the flag's value (not another flag): every numeric
    // flag names its range, whichever way the value is written.
    {
      argv: ["status", "--secret-id", "x", "--stuck-after-minutes", "-3"],
      message: /^error: --stuck-after-minutes must be an integer from 1 to 10080 \(see --help\)$/,
    },
    {
      argv: ["status", "--secret-id", "x", "--stuck-after-minutes=-3"],
      message: /^error: --stuck-after-minutes must be an integer from 1 to 10080 \(see --help\)$/,
    },
    {
      argv: ["recover", "--stuck-after-minutes", "-0.5", "--secret-id", "x"],
      message: /^error: --stuck-after-minutes must be an integer from 1 to 10080 \(see --help\)$/,
    },
    {
      argv: ["rotate", "--secret-id", "x", "--wait", "--timeout-seconds", "-5"],
      message: /^error: --timeout-seconds must be an integer from 1 to 3600 \(see --help\)$/,
    },
    {
      argv: ["vend", "--function-name", "f", "--min-ttl-seconds", "-1"],
      message: /^error: --min-ttl-seconds must be an integer from 0 to 3600 \(see --help\)$/,
    },
    {
      argv: [
        ...SEED,
        "--regenerate-secret",
        "--admin-secret-id",
        "a",
        "--propagation-timeout-seconds",
        "-10",
      ],
      message: /^error: --propagation-timeout-seconds must be an integer from 1 to 600 \(see --help\)$/,
    },
    // A flag that needs a value followed by another flag: says so (it does not claim "takes no value").
    {
      argv: ["status", "--secret-id", "--local"],
      message:
        /^error: --secret-id needs a value \(write --secret-id=<value> for a value that starts with "-"\)/,
    },
    { argv: ["recover", "--secret-id", "x", "--apply=yes"], message: /^error: --apply takes no value/ },
    {
      argv: [...SEED, "--admin-secret-id", "a"],
      message: /--client-secret-stdin or --regenerate-secret is required \(exactly one\)/,
    },
    {
      argv: [
        "seed",
        "--secret-id",
        "s",
        "--environment",
        "example.org",
        "--client-id",
        "c",
        "--regenerate-secret",
      ],
      message: /--environment must be a known Genesys Cloud domain/,
    },
    { argv: [...SEED, "--regenerate-secret"], message: /--admin-secret-id is required/ },
    {
      argv: [...SEED, "--admin-pair", "--regenerate-secret"],
      message: /--admin-pair needs --client-secret-stdin/,
    },
    {
      argv: [
        ...SEED,
        "--client-secret-stdin",
        "--admin-secret-id",
        "a",
        "--strategy",
        "single",
        "--twin-name",
        "t",
      ],
      message: /--twin-name is not allowed with --strategy single/,
    },
  ];
  for (const { argv, message } of usageCases) {
    it(`rejects: ${argv.join(" ")}`, async () => {
      const run = await runCli(argv);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /\(see --help\)$/);
      assert.equal(run.stdout, "");
    });
  }

  it("never echoes a positional argument (it may be a pasted secret)", async () => {
    const run = await runCli(["seed", "--secret-id", "s", "PASTED-SECRET-VALUE"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /takes flags only/);
    assert.doesNotMatch(run.output.all(), /PASTED-SECRET-VALUE/);
  });

  it("rejects a secret on stdin that is not a valid secret, naming the flag", async () => {
    const run = await runCli(
      [
        "seed",
        "--secret-id",
        "s",
        "--environment",
        "mypurecloud.ie",
        "--client-id",
        "c",
        "--client-secret-stdin",
        "--admin-pair",
      ],
      { readStdin: async () => "two words\n", target: { kind: "aws", region: "eu-west-1" } },
    );
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--client-secret-stdin expects the client secret on stdin/);
    assert.doesNotMatch(run.output.all(), /two words/);
  });

  it("--endpoints from an older local stack (no AWS settings) says to restart it", async () => {
    const directory = await mkdtemp(join(tmpdir(), "genesys-rotator-"));
    after(() => rm(directory, { recursive: true, force: true }));
    const file = join(directory, ".local-stack.json");
    const { awsCredentials: _, ...withoutCredentials } = {
      version: 2,
      region: "eu-west-1",
      awsCredentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" },
      secretsManager: "http://127.0.0.1:1",
      lambda: "http://127.0.0.1:2",
      dynamodb: "http://127.0.0.1:3",
      genesys: "http://127.0.0.1:4",
      vendingFunction: "vendor",
      tokenTable: "tokens",
      credentials: {},
      secrets: {},
      pid: 1,
    };
    await writeFile(file, JSON.stringify({ ...withoutCredentials, version: 1 }));
    const versionOne = await runCli(["status", "--secret-id", "x", "--endpoints", file]);
    assert.equal(versionOne.code, 1);
    assert.match(versionOne.stderr, /field "version" must be 2: restart `npm run local-stack`/);

    await writeFile(file, JSON.stringify(withoutCredentials));
    const noCredentials = await runCli(["status", "--secret-id", "x", "--endpoints", file]);
    assert.equal(noCredentials.code, 1);
    assert.match(
      noCredentials.stderr,
      /field "awsCredentials" must be an object with non-empty accessKeyId and secretAccessKey/,
    );
  });

  it("--local without a running stack says how to start it", async () => {
    const run = await runCli(["status", "--secret-id", "x", "--endpoints", "/nonexistent/.local-stack.json"]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /No local stack endpoints at \/nonexistent\/\.local-stack\.json: start the stack with `npm run local-stack`/,
    );
  });
});

describe("AWS error mapping", () => {
  it("maps missing credentials to one line with the fix", async () => {
    const noCredentials = new SecretsManagerClient({
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:9", // never reached: signing fails first
      credentials: async () => {
        const error = new Error("Could not load credentials from any providers");
        error.name = "CredentialsProviderError";
        throw error;
      },
    });
    after(() => noCredentials.destroy());
    const run = await runCli(["status", "--secret-id", "genesys/app"], {
      target: { kind: "aws", region: "eu-west-1" },
      secretsManager: noCredentials,
    });
    assert.equal(run.code, 3, "AwsCallError");
    assert.equal(run.stderr.split("\n").length, 1);
    assert.match(run.stderr, /^error: No AWS credentials found\. Pass --profile <name>/);
    assert.match(run.stderr, /or use --local/);
  });

  it("maps AccessDenied to the missing IAM action", async () => {
    const server = createServer((request, response) => {
      request.resume();
      response.writeHead(400, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "r1" });
      response.end(JSON.stringify({ __type: "AccessDeniedException", Message: "User is not authorized" }));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    after(() => server.close());
    const client = new SecretsManagerClient({
      region: "eu-west-1",
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
    after(() => client.destroy());
    const run = await runCli(["status", "--secret-id", "genesys/app"], {
      target: { kind: "aws", region: "eu-west-1" },
      secretsManager: client,
    });
    assert.equal(run.code, 3, "AwsCallError");
    assert.match(
      run.stderr,
      /AWS denied DescribeSecret on secret "genesys\/app" \(AccessDeniedException\): the caller needs secretsmanager:DescribeSecret/,
    );
  });

  it("maps ResourceNotFound to the name and region to check", async () => {
    const emulator = await startSecretsManagerEmulator({ region: "eu-west-1" });
    after(() => emulator.stop());
    const client = new SecretsManagerClient(emulator.clientConfig);
    after(() => client.destroy());
    const run = await runCli(["rotate", "--secret-id", "genesys/missing"], {
      target: { kind: "aws", region: "eu-west-1" },
      secretsManager: client,
    });
    assert.equal(run.code, 3, "AwsCallError");
    assert.match(
      run.stderr,
      /Secret "genesys\/missing" not found in region eu-west-1 \(RotateSecret\)\. Check the name and --region\./,
    );
  });

  it("rotate --ignore-min-gap starts the rotation with a version id the rotation function recognises", async () => {
    const sent: Record<string, unknown>[] = [];
    const secretsManager = {
      send: async (command: { input: Record<string, unknown> }) => {
        sent.push(command.input);
        return {
          ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:genesys/app-AbCdEf",
          VersionId: "v",
        };
      },
      destroy: () => {},
    } as unknown as SecretsManagerClient;
    const target = { kind: "aws", region: "eu-west-1" } as const;
    const plain = await runCli(["rotate", "--secret-id", "genesys/app"], { target, secretsManager });
    const override = await runCli(["rotate", "--secret-id", "genesys/app", "--ignore-min-gap"], {
      target,
      secretsManager,
    });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(override.code, 0, override.stderr);
    assert.equal(sent[0]?.ClientRequestToken, undefined, "a normal rotation lets Secrets Manager choose");
    assert.match(String(sent[1]?.ClientRequestToken), /^ignore-min-gap-[0-9a-f-]{36}$/);
    assert.ok(String(sent[1]?.ClientRequestToken).length <= 64, "RotateSecret accepts 32-64 characters");
  });
});

describe("a secret typed at a terminal", () => {
  /** A terminal's input: raw-mode switches recorded, keystrokes delivered with `type`. */
  class FakeTerminal extends EventEmitter {
    readonly rawModes: boolean[] = [];
    setRawMode(raw: boolean): this {
      this.rawModes.push(raw);
      return this;
    }
    resume(): this {
      return this;
    }
    pause(): this {
      return this;
    }
    type(keys: string): void {
      this.emit("data", Buffer.from(keys));
    }
  }
  const screen = () => {
    const written: string[] = [];
    return { written, write: (text: string) => written.push(text) > 0 };
  };

  it("is read in raw mode without echo; Backspace edits; Enter ends; raw mode is switched off", async () => {
    const terminal = new FakeTerminal();
    const output = screen();
    const read = readHiddenLine(terminal, output, "Client secret (not shown): ");
    terminal.type("s3cr");
    terminal.type("X\u007fet-value\r");
    assert.equal(await read, "s3cret-value");
    assert.deepEqual(terminal.rawModes, [true, false]);
    assert.deepEqual(output.written, ["Client secret (not shown): ", "\n"], "only the prompt and a newline");
    assert.equal(terminal.listenerCount("data"), 0);
  });

  it("seed's stdin: a terminal gets the hidden prompt, piped input is read to the end as before", async () => {
    const terminal = Object.assign(new FakeTerminal(), {
      isTTY: true,
      [Symbol.asyncIterator](): AsyncIterator<Buffer> {
        throw new Error("a terminal is not read to the end");
      },
    });
    const output = screen();
    const read = readProcessStdin(terminal, output);
    terminal.type("typed-secret\r");
    assert.equal(await read, "typed-secret");
    assert.deepEqual(output.written, ["Client secret (not shown): ", "\n"]);
    assert.equal(await readProcessStdin(Readable.from(["piped-", "secret\n"]), output), "piped-secret\n");
    assert.equal(output.written.length, 2, "no prompt for piped input");
  });

  it("Ctrl-C cancels: nothing is read, raw mode is switched off", async () => {
    const terminal = new FakeTerminal();
    const read = readHiddenLine(terminal, screen(), "Client secret (not shown): ");
    terminal.type("abc\u0003");
    await assert.rejects(read, PromptCancelledError);
    assert.deepEqual(terminal.rawModes, [true, false]);
  });
});
