/**
 * Grants that grow one resource at a time (each rotated secret, each key), kept in ONE policy statement
 * per purpose so the role stays readable and small.
 */
import { Aws } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";

/**
 * A policy statement whose resources are added by later grants. It joins the role's policy with its
 * first resource (IAM rejects a statement without one); each resource is listed once.
 */
export class GrowingStatement {
  readonly #role: iam.IRole;
  readonly #statement: iam.PolicyStatement;
  #attached = false;

  constructor(role: iam.IRole, props: iam.PolicyStatementProps) {
    this.#role = role;
    this.#statement = new iam.PolicyStatement(props);
  }

  /** Adds `arn` to the statement (a repeated ARN is listed once). */
  addResource(arn: string): void {
    if (!this.#attached) {
      this.#role.addToPrincipalPolicy(this.#statement);
      this.#attached = true;
    }
    this.#statement.addResources(arn);
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
