"""Register three versions of a model in a SageMaker Model Registry, with the reports SageMaker
writes: Model Monitor's model quality statistics and Clarify's bias report, in S3.

Run it against moto's server (an emulator of SageMaker and S3, for trying pml-policy without AWS):

    moto_server -H 127.0.0.1 -p 5000 &
    export AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_DEFAULT_REGION=us-east-1 \
           AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
    python examples/sagemaker/register.py
    pml-policy govern sagemaker:credit-scorer -p policies/sagemaker --apply

Region, credentials and endpoint come from the environment, the usual boto3 way.
"""

from __future__ import annotations

import argparse
import hashlib
import json

import boto3

VERSIONS = [  # (AUC, demographic parity gap, git commit): v2 is the best, v3 is below the floor
    (0.842, 0.031, "3e1d0c9f77ab"),
    (0.871, 0.024, "8a77c2e0b1d4"),
    (0.762, 0.029, "c0ffee1234ab"),
]


def quality_statistics(auc: float) -> dict:
    """As SageMaker Model Monitor writes a binary classification model's quality statistics."""
    return {
        "version": 0.0,
        "dataset": {"item_count": 5000, "evaluation_time": "2026-11-20T10:00:00.000Z"},
        "binary_classification_metrics": {
            "confusion_matrix": {"0": {"0": 3900, "1": 100}, "1": {"0": 300, "1": 700}},
            "recall": {"value": 0.7, "standard_deviation": 0.004},
            "precision": {"value": 0.875, "standard_deviation": 0.003},
            "accuracy": {"value": 0.92, "standard_deviation": 0.002},
            "auc": {"value": auc, "standard_deviation": 0.002},
            "f1": {"value": 0.778, "standard_deviation": 0.003},
        },
    }


def bias_report(dppl: float) -> dict:
    """As SageMaker Clarify writes a bias report (analysis.json)."""
    return {
        "version": "1.0",
        "post_training_bias_metrics": {
            "label": "default",
            "label_value_or_threshold": "1",
            "facets": {
                "age_group": [
                    {
                        "value_or_threshold": "senior",
                        "metrics": [
                            {
                                "name": "DPPL",
                                "description": "Difference in positive proportions in predicted labels",
                                "value": dppl,
                            },
                            {"name": "DI", "description": "Disparate Impact", "value": 0.94},
                        ],
                    }
                ]
            },
        },
    }


def put_json(s3, bucket: str, key: str, document: dict) -> dict:
    """Upload a report; returns the MetricsSource that points to it, with its digest."""
    body = json.dumps(document, indent=2).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return {
        "ContentType": "application/json",
        "S3Uri": f"s3://{bucket}/{key}",
        "ContentDigest": "sha256:" + hashlib.sha256(body).hexdigest(),
    }


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--group", default="credit-scorer", help="the model package group [credit-scorer]")
    options.add_argument("--bucket", default="pml-examples", help="the S3 bucket for reports and models [pml-examples]")
    args = options.parse_args()
    group, bucket = args.group, args.bucket
    session = boto3.session.Session()
    s3, sagemaker = session.client("s3"), session.client("sagemaker")
    s3.create_bucket(Bucket=bucket)
    sagemaker.create_model_package_group(
        ModelPackageGroupName=group, ModelPackageGroupDescription="Credit default scoring"
    )
    for number, (auc, dppl, commit) in enumerate(VERSIONS, start=1):
        prefix = f"{group}/v{number}"
        s3.put_object(Bucket=bucket, Key=f"{prefix}/model.tar.gz", Body=b"model weights " * 64)
        arn = sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription=f"training run {number}",
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                        "ModelDataUrl": f"s3://{bucket}/{prefix}/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics={
                "ModelQuality": {
                    "Statistics": put_json(s3, bucket, f"{prefix}/statistics.json", quality_statistics(auc))
                },
                "Bias": {"PostTrainingReport": put_json(s3, bucket, f"{prefix}/analysis.json", bias_report(dppl))},
            },
            MetadataProperties={"CommitId": commit, "Repository": "https://git.example.com/risk/credit-scorer"},
            CustomerMetadataProperties={"use_case": "credit", "owner": "risk-models"},
        )["ModelPackageArn"]
        print(f"registered {arn}: auc {auc}, DPPL {dppl}")


if __name__ == "__main__":
    main()
