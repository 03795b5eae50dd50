/**
 * Grants that grow one resource at a time (each rotated secret, each key), kept in as few policy
 * statements per purpose as IAM's policy size limits allow, so the role stays readable and small.
 */
import { Aws } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type { Construct } from "constructs";

/**
 * Resources one statement of a {@link GrowingStatement} holds. A secret ARN resolves to ~110 characters
 * (`arn:aws:secretsmanager:<region>:<account>:secret:<stack>/genesys/<name>-XXXXXX`), so a statement of
 * this many fits a customer managed policy (6,144 characters, lib/private/deploy-limits.ts) with room
 * for longer names, and the first one leaves the role's inline policies (10,240) room for the rest.
 */
export const MAX_RESOURCES_PER_STATEMENT = 35;

/**
 * A policy statement whose resources are added by later grants. It joins the role's policy with its
 * first resource (IAM rejects a statement without one); each resource is listed once. Past
 * {@link MAX_RESOURCES_PER_STATEMENT} resources it continues in a statement of its own customer managed
 * policy (`<sid>2`, `<sid>3`, ...): CDK's own overflow splitting measures tokens, not the ARNs they resolve
 * to, and would leave a resolved policy over IAM's size limit.
 */
export class GrowingStatement {
  readonly #role: iam.IRole;
  readonly #props: iam.PolicyStatementProps;
  readonly #statements: iam.PolicyStatement[] = [];
  readonly #resources = new Set<string>();

  constructor(role: iam.IRole, props: iam.PolicyStatementProps) {
    this.#role = role;
    this.#props = props;
  }

  /** Adds `arn` to the statement (a repeated ARN is listed once). */
  addResource(arn: string): void {
    if (this.#resources.has(arn)) return;
    let statement = this.#statements.at(-1);
    if (statement === undefined || statement.resources.length >= MAX_RESOURCES_PER_STATEMENT) {
      statement = this.#addStatement();
    }
    this.#resources.add(arn);
    statement.addResources(arn);
  }

  #addStatement(): iam.PolicyStatement {
    const part = this.#statements.length + 1;
    const sid = this.#props.sid;
    const statement = new iam.PolicyStatement({
      ...this.#props,
      ...(sid === undefined || part === 1 ? {} : { sid: `${sid}${part}` }),
    });
    this.#statements.push(statement);
    if (part === 1) {
      this.#role.addToPrincipalPolicy(statement);
    } else {
      new iam.ManagedPolicy(this.#role as unknown as Construct, `${sid ?? "Grants"}Part${part}`, {
        description: `Part ${part} of ${sid ?? "the grants"} (one policy would exceed IAM's size limit)`,
        statements: [statement],
        roles: [this.#role],
      });
    }
    return statement;
  }
}

/**
 * KMS actions on the keys of secrets, allowed only when Secrets Manager calls KMS on the role's behalf
 * (`kms:ViaService`): the role cannot use the keys directly.
 */
export class SecretKeyAccess {
  readonly #statement: GrowingStatement;

  constructor(role: iam.IRole, props: { readonly sid: string; readonly actions: readonly string[] }) {
    this.#statement = new GrowingStatement(role, {
      sid: props.sid,
      actions: [...props.actions],
      conditions: { StringEquals: { "kms:ViaService": `secretsmanager.${Aws.REGION}.amazonaws.com` } },
    });
  }

  /** Adds `key` when there is one (a secret without a customer managed key uses aws/secretsmanager). */
  addKey(key: kms.IKey | undefined): void {
    if (key !== undefined) this.#statement.addResource(key.keyArn);
  }
}
