"""Direct SIP dialling with pyVoIP 1.6.8, and the loopback network (Kamailio + simulated citizens).

Product code: ``dialer.SipDialer`` (the Dialer), built on ``phone`` / ``calls`` / ``sipmsg`` / ``rtp``
(the pyVoIP wrapper and its workarounds, listed in ``phone``'s docstring), ``media`` (real-time call
audio), ``dtmf`` (in-band key detection), ``prompts`` and ``audio``. The survey walk itself is
backend-neutral: ``callback_service.telephony.walker``.

Test and demo network: ``registrar`` (a private Kamailio, config ``dialplans/kamailio.cfg``),
``citizen`` (scripted SIP phones) and ``loopback.start_loopback_network``.
"""
