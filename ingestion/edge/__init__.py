"""Lambda handlers at the ingestion edge: the donation webhook and the warehouse/partner poller.

They run in the AWS Lambda Python runtime, which has boto3 but not pydantic or tenacity, and
the CDK app ships this folder as is (no bundling), so this package uses only the standard
library, boto3 and ``ingestion.contract``.
"""
