/**
 * Optional fixed egress addresses: a VPC whose private subnets reach the internet through NAT gateways
 * with Elastic IPs, so that Genesys OAuth clients can be restricted to those addresses (IP allow-list).
 * Without it the functions run outside any VPC, which is simpler and removes a class of failures.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { ConfigurationError } from "../lambda/shared/errors.ts";
import type { FunctionNetwork } from "./private/node-function.ts";

/** Properties of {@link StaticEgressNetwork}. */
export interface StaticEgressNetworkProps {
  /**
   * Existing Elastic IP allocations, one per NAT gateway. Bring your own to keep the addresses when the
   * stack is replaced (Genesys allow-lists would otherwise need updating).
   * @default new Elastic IPs (released when the stack is deleted)
   */
  readonly eipAllocationIds?: readonly string[];
  /** @default the number of `eipAllocationIds`, or 1 */
  readonly natGateways?: number;
  /** @default 2 */
  readonly maxAzs?: number;
  /** Retention of the VPC flow log. @default logs.RetentionDays.ONE_YEAR */
  readonly flowLogRetention?: logs.RetentionDays;
}

/** A VPC with NAT egress on fixed public addresses, for the functions' private subnets only. */
export class StaticEgressNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  /** Security group of the functions: no inbound rules, outbound HTTPS only. */
  readonly securityGroup: ec2.SecurityGroup;
  /** The public egress addresses (Elastic IPs) to allow-list in Genesys; undefined entries are imported allocations. */
  readonly publicIps: readonly (string | undefined)[];

  constructor(scope: Construct, id: string, props: StaticEgressNetworkProps = {}) {
    super(scope, id);
    const imported = props.eipAllocationIds ?? [];
    const natGateways = props.natGateways ?? Math.max(1, imported.length);
    if (imported.length > 0 && imported.length !== natGateways) {
      throw new ConfigurationError(
        `${this.node.path}: eipAllocationIds`,
        `must list one allocation per NAT gateway (natGateways ${natGateways}, ${imported.length} given)`,
      );
    }
    const created =
      imported.length > 0
        ? []
        : Array.from(
            { length: natGateways },
            (_, index) => new ec2.CfnEIP(this, `EgressIp${index + 1}`, { domain: "vpc" }),
          );
    this.publicIps =
      imported.length > 0 ? imported.map(() => undefined) : created.map((eip) => eip.attrPublicIp);

    this.vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: props.maxAzs ?? 2,
      natGateways,
      natGatewayProvider: ec2.NatProvider.gateway({
        eipAllocationIds: imported.length > 0 ? [...imported] : created.map((eip) => eip.attrAllocationId),
      }),
      subnetConfiguration: [
        { name: "Public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 26 },
        { name: "Functions", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
      ],
      // DynamoDB through a free gateway endpoint rather than the NAT (cheaper, one less hop).
      gatewayEndpoints: { DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
    });
    const flowLogGroup = new logs.LogGroup(this, "FlowLogGroup", {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog("FlowLog", {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    this.securityGroup = new ec2.SecurityGroup(this, "FunctionSecurityGroup", {
      vpc: this.vpc,
      description: "Genesys OAuth rotator functions: outbound HTTPS only (Genesys Cloud and AWS APIs)",
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      "HTTPS to Genesys Cloud and AWS APIs",
    );
  }

  /** Where the functions run: private subnets, behind the NAT gateways. */
  get functionNetwork(): FunctionNetwork {
    return {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
    };
  }
}
