"""The local stand-ins that let the whole pipeline run on a laptop with no AWS account.

``localaws`` starts and stops the loopback AWS endpoint (moto's server, run through
``endpoint_server``, which serialises requests and indexes shards) and provisions the stream
and bucket; ``airflow`` runs Airflow 3 on 127.0.0.1 with the DAGs wired to the local default.
"""
