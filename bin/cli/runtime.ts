/**
 * What every command runs with: AWS SDK clients (real AWS through the default credential chain, or the
 * local stack), the Genesys gateway, an output writer, a clock, stdin and a yes/no prompt. Commands take
 * a {@link CliDependencies}; the entry point builds the production one, tests build their own.
 */

import { createInterface } from "node:readline/promises";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { LocalStackEndpoints } from "../../contracts/local-stack-file.ts";
import { awsClientLimits } from "../../lambda/shared/aws-client-config.ts";
import { type Clock, systemClock } from "../../lambda/shared/clock.ts";
import { createGenesysGateway, type GenesysGateway } from "../../lambda/shared/genesys/gateway.ts";
import { type AwsCallContext, CliError, toAwsCallError } from "./errors.ts";

/** Where the commands' AWS calls go. */
export type Target =
  | { kind: "aws"; region?: string; profile?: string }
  | { kind: "local"; endpoints: LocalStackEndpoints };

/** Where commands print. `stdout` gets results, `stderr` progress and warnings. */
export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Asks a yes/no question; `undefined` when there is no terminal to ask on. */
export type Confirm = ((question: string) => Promise<boolean>) | undefined;

/** Everything a command needs, injected. */
export interface CliDependencies {
  target: Target;
  secretsManager: SecretsManagerClient;
  lambda: LambdaClient;
  dynamodb: DynamoDBClient;
  /** Reads the deployed stack's outputs (`status`); never called in local mode. */
  cloudformation: CloudFormationClient;
  /** The shared Genesys gateway (lambda/shared/genesys/gateway.ts), the one the rotation function uses. */
  genesys: GenesysGateway;
  out: CliOutput;
  clock: Clock;
  /** Reads all of stdin (for `--client-secret-stdin`). */
  readStdin: () => Promise<string>;
  confirm: Confirm;
}

/**
 * The AWS SDK clients for a target. Real AWS: the default credential chain, `--profile`, `--region`.
 * Local: the region and dummy credentials the stack published, so the CLI reads the same DynamoDB Local
 * database as the stack's handlers (see contracts/local-stack-file.ts).
 */
export function createAwsClients(
  target: Target,
): Pick<CliDependencies, "secretsManager" | "lambda" | "dynamodb" | "cloudformation"> {
  if (target.kind === "local") {
    const { endpoints } = target;
    const common = {
      ...awsClientLimits({ connectionTimeoutMs: 2_000, requestTimeoutMs: 30_000, maxAttempts: 2 }),
      region: endpoints.region,
      // A fresh object with just the two keys (the SDK annotates the one it is given).
      credentials: {
        accessKeyId: endpoints.awsCredentials.accessKeyId,
        secretAccessKey: endpoints.awsCredentials.secretAccessKey,
      },
    };
    return {
      secretsManager: new SecretsManagerClient({ ...common, endpoint: endpoints.secretsManager }),
      lambda: new LambdaClient({ ...common, endpoint: endpoints.lambda }),
      dynamodb: new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb }),
      // The local stack has no CloudFormation: its file names the resources. Loopback, so never AWS.
      cloudformation: new CloudFormationClient({ ...common, endpoint: endpoints.secretsManager }),
    };
  }
  const config = {
    ...awsClientLimits({ connectionTimeoutMs: 5_000, requestTimeoutMs: 30_000, maxAttempts: 3 }),
    ...(target.region === undefined ? {} : { region: target.region }),
    ...(target.profile === undefined ? {} : { profile: target.profile }),
  };
  return {
    secretsManager: new SecretsManagerClient(config),
    lambda: new LambdaClient(config),
    dynamodb: new DynamoDBClient(config),
    cloudformation: new CloudFormationClient(config),
  };
}

/**
 * The Genesys gateway for a target. Local mode sends every environment to the emulator (the environment
 * is still validated); real AWS honours GENESYS_EXTRA_ENVIRONMENTS / GENESYS_ENDPOINT_OVERRIDE as the
 * Lambdas do.
 */
export function createGenesysGatewayFor(target: Target, clock: Clock = systemClock): GenesysGateway {
  return createGenesysGateway({
    clock,
    ...(target.kind === "local" ? { endpointOverride: target.endpoints.genesys } : {}),
  });
}

/** Writes to the process's streams. */
export const processOutput: CliOutput = {
  stdout: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  stderr: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
};

/**
 * Reads a secret from stdin: piped input is read to the end; at a terminal the user is prompted on stderr
 * and types the secret without it being echoed ({@link readHiddenLine}).
 */
export async function readProcessStdin(
  input: AsyncIterable<Buffer | string> & { isTTY?: boolean } = process.stdin,
  output: Pick<NodeJS.WritableStream, "write"> = process.stderr,
): Promise<string> {
  if (input.isTTY === true) {
    return readHiddenLine(input as unknown as TerminalInput, output, "Client secret (not shown): ");
  }
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

/** The part of a terminal's input stream {@link readHiddenLine} uses (process.stdin at a terminal). */
export interface TerminalInput {
  setRawMode(raw: boolean): unknown;
  on(event: "data", listener: (chunk: Buffer | string) => void): unknown;
  off(event: "data", listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** The user pressed Ctrl-C (or Ctrl-D on an empty line) at a secret prompt: nothing was read. */
export class PromptCancelledError extends CliError {
  override readonly name = "PromptCancelledError";

  constructor() {
    super("Cancelled at the secret prompt: nothing was read or changed.");
  }
}

/**
 * Prompts on `output` and reads one line from a terminal in raw mode, so the typed characters are never
 * echoed (not even as `*`, which would show the secret's length). Enter ends the line, Backspace deletes,
 * Ctrl-C (or Ctrl-D on an empty line) cancels with {@link PromptCancelledError}. Raw mode is always
 * switched off again.
 */
export function readHiddenLine(
  input: TerminalInput,
  output: Pick<NodeJS.WritableStream, "write">,
  prompt: string,
): Promise<string> {
  output.write(prompt);
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let line = "";
    const finish = (error?: Error) => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
      output.write("\n");
      if (error === undefined) resolve(line);
      else reject(error);
    };
    const onData = (chunk: Buffer | string) => {
      for (const character of chunk.toString("utf8")) {
        if (character === "\r" || character === "\n") return finish();
        if (character === "\u0003" || (character === "\u0004" && line === ""))
          return finish(new PromptCancelledError());
        if (character === "\u0004") return finish();
        if (character === "\u007f" || character === "\b") line = line.slice(0, -1);
        else if (character >= " ") line += character;
      }
    };
    input.on("data", onData);
  });
}

/** A yes/no prompt on the terminal, or `undefined` when stdin or stderr is not a terminal. */
export function terminalConfirm(): Confirm {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await rl.question(`${question} [y/N] `);
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      rl.close();
    }
  };
}

/**
 * Sends an AWS command and turns any failure into the CLI's one-line error with advice
 * (see errors.ts). `context` names the operation and the resource as the user typed it.
 */
export async function callAws<Output>(
  deps: Pick<CliDependencies, "target">,
  send: () => Promise<Output>,
  context: Omit<AwsCallContext, "endpoint" | "region">,
): Promise<Output> {
  try {
    return await send();
  } catch (error) {
    const full: AwsCallContext = { ...context };
    if (deps.target.kind === "local") {
      const { endpoints } = deps.target;
      full.region = endpoints.region;
      full.endpoint =
        context.service === "secretsmanager" || context.service === "cloudformation"
          ? endpoints.secretsManager
          : context.service === "lambda"
            ? endpoints.lambda
            : endpoints.dynamodb;
    } else if (deps.target.region !== undefined) {
      full.region = deps.target.region;
    }
    throw toAwsCallError(error, full);
  }
}

/**
 * Every page of a NextToken-paginated AWS list call, each sent through {@link callAws}: `send` gets the
 * previous page's NextToken (undefined for the first page). Leaving the loop early reads no further page.
 */
export async function* awsPages<Page extends { NextToken?: string | undefined }>(
  deps: Pick<CliDependencies, "target">,
  send: (nextToken: string | undefined) => Promise<Page>,
  context: Omit<AwsCallContext, "endpoint" | "region">,
): AsyncGenerator<Page> {
  let nextToken: string | undefined;
  do {
    const page = await callAws(deps, () => send(nextToken), context);
    yield page;
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
}
