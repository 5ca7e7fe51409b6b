"""Operating the pipeline: is every layer right, and who hears when it is not.

``reconcile`` compares archive, landings and marts for a window to the cent; ``trace`` follows
a gift back to its raw records; ``checks`` runs the marts' Soda contracts; ``metrics`` and
``alerts`` publish measurements and send alerts to one sink (CloudWatch and SNS in AWS, local
files here); ``cost`` prices the deployment per month from dated list prices.
"""
