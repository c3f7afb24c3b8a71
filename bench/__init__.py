"""Load generator and benchmark for the CSMS backoffice (run as ``python -m bench``).

It talks to the MQTT broker exactly as an EMQX OCPP gateway would: OCPP 1.6 Calls as EMQX JSON on
``ocpp/cp/{cid}``, replies read from ``ocpp/cs/{cid}``, and runs the same load against a bare
responder (``bench.responder``) to measure the transport ceiling in the same run.
"""
