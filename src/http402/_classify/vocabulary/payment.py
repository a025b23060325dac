"""A payment method that failed or is missing: `instrument_declined`, `instrument_missing`,
the remedy `payment_method_asked` ("add a payment method"), and `charge_asked` when a 402's
words name a per-request payment protocol ("requires an x402 micropayment")."""

from __future__ import annotations

from ..families import Family
from ..rules import CodeRule, Strength, WordRule

DECLINED = Family.INSTRUMENT_DECLINED
MISSING = Family.INSTRUMENT_MISSING
#: What the account's billing information is called (payloads13).
_BILLING_INFO = (
    r"(?:billing (?:address|details|information|info|profile|contact)"
    r"|payment (?:details|information|info))"
)
STRONG, WEAK = Strength.STRONG, Strength.WEAK

#: What an issuer checks of a card: its security code, its billing address, 3-D Secure.
_VERIFICATION = (
    r"(?:cvv2?|cvc2?|cvn|avs|3-?d[ -]?secure|3ds2?|card verification(?: value| code)?"
    r"|address verification(?: system)?|card security code)"
)

WORDING = (
    # A 402 whose words name a per-request payment protocol (x402, L402, a micropayment, pay
    # per request or per call) asks for this request to be paid, as a body that declares its
    # x402 version does (`_providers/x402.py`): a `payment_challenge` with no offer, since
    # none is built from words. Weak: off a 402 the protocol's name is documentation.
    # A Lightning invoice (a BOLT 11 payment request) is such a protocol's price too: an
    # invoice for this one request, paid by its preimage, never the account's bill, so "Pay
    # the Lightning invoice to access this resource" (Lightning Enable's L402 proxy) asks
    # for this request's price, while "Pay your invoice" stays `billing_asked`.
    WordRule(
        "per-request payment protocol named",
        Family.CHARGE_ASKED,
        WEAK,
        r"\b(?:x402|l402)\b(?!-)|\bmicro-?payments?\b"
        r"|\bpay[ -]per[ -](?:request|call|crawl|query)\b|\bper-request (?:payment|price)\b"
        r"|\blightning (?:network )?(?:invoices?|payment requests?)\b"
        r"|\bbolt ?11(?: invoices?| payment requests?)?\b",
        needles=(
            "x402",
            "l402",
            "micropayment",
            "micro-payment",
            "pay per",
            "pay-per",
            "per-request",
            "lightning",
            "bolt",
        ),
        examples=(
            "This endpoint requires an x402 micropayment (USDC on Base). See the 402 `accepts` "
            "for payment details.",
            "Pay per request: include an L402 token.",
            "This API is pay-per-call.",
            "Pay the Lightning invoice to access this resource",
            "Pay this Lightning Network invoice, then retry with the preimage.",
            "Payment required: settle the BOLT11 invoice below.",
            "A Lightning payment request was issued for this call.",
        ),
        look_alikes=(
            "Install the x402-client package.",
            "Invoice L4021 was sent.",
            "This API is billed per request.",
            "Pay your invoice.",
            "Lightning-fast invoices for your customers.",
            "Lightning node is offline.",
            "Bolt Inc. invoice #42 is overdue.",
        ),
        source="research/payloads8 apitoll-gas-x402-message-body-header-challenge-402 (its "
        "PAYMENT-REQUIRED header not kept in the capture: the words alone); research/"
        "payloads17 lightningenable-l402-proxy-402 (https://docs.lightningenable.com/"
        "api-reference/l402: 'Pay the Lightning invoice to access this resource')",
    ),
    # An account verified by a card on file: what the provider asks is a payment method
    # (Heroku's "Please verify your account to install this add-on plan (please enter a
    # credit card)"). Strong when the sentence names the card, the payment or billing; weak
    # (a 402's) when only the message's link does ("For more information, see
    # .../categories/billing"): "verify your account" alone is an e-mail's or an identity's.
    WordRule(
        "verify your account with a card",
        MISSING,
        STRONG,
        r"\bverify (?:your|the|this) account\b[^.]{0,60}?\b(?:payment|(?:credit|debit|bank"
        r"|payment) card|billing)\b",
        needles=("verify",),
        examples=(
            "Please verify your account by adding a credit card.",
            "Please verify your account to install this add-on plan (please enter a credit card)",
            "Verify your account with a payment method to continue.",
        ),
        look_alikes=(
            "Please verify your account by clicking the link in your email.",
            "Please verify your account to continue.",
            "Verify your account with the code on your ID card.",
        ),
        source="https://github.com/mhoofman/wordpress-heroku/issues/120 and "
        "https://github.com/plivo/voicechat/issues/11 (Heroku's add-on 402 as the CLI shows "
        "it); https://devcenter.heroku.com/articles/account-verification",
    ),
    WordRule(
        "verify your account for billing",
        MISSING,
        WEAK,
        r"\bverify (?:your|the|this) account\b[\s\S]{0,160}?\b(?:payment|credit card|billing)\b",
        needles=("verify",),
        examples=(
            "Please verify your account to install this add-on\nFor more information, see "
            "http://devcenter.heroku.com/categories/billing\nVerify now at "
            "https://heroku.com/verify",
        ),
        look_alikes=(
            "Please verify your account. We sent a link to your e-mail address.",
            "Verify your e-mail address to use billing.",
        ),
        source="research/payloads12 heroku-legacy-verify-account-addon-402 (heroku/heroku.rb "
        "VerificationRequired on 402; the legacy CLI's message)",
    ),
    WordRule(
        "card declined",
        DECLINED,
        STRONG,
        r"\bcard\b[^.]{0,60}?\b(?:declined|expired|insufficient funds|lost|stolen)"
        r"|\bdeclined\b[^.]{0,30}\bcard\b",
        needles=("card",),
        examples=(
            "Your card was declined.",
            "Your card has expired.",
            "Your card has insufficient funds.",
            "The card you used was reported lost.",
            "We declined the payment because the card is blocked.",
        ),
        look_alikes=(
            "Card not found on this board.",
            "The gift card code is invalid.",
        ),
        source="tests/payloads/stripe-card-declined-generic-decline.json",
    ),
    # A "card" that failed or is invalid may be a game's, a board's or a SIM's.
    WordRule(
        "card failed",
        DECLINED,
        WEAK,
        r"\bcard\b[^.]{0,60}?\b(?:failed|invalid|incorrect|not supported)",
        needles=("card",),
        examples=(
            "Your card's security code is incorrect.",
            "This card is not supported for this currency.",
        ),
        look_alikes=("Add a card to your board.",),
        source="tests/payloads/stripe-incorrect-cvc-402.json",
    ),
    WordRule(
        "payment method failed",
        DECLINED,
        STRONG,
        # Not a parameter's error: "... failed validation".
        r"\bpayment (?:method|instrument|source)\b[^.]{0,60}?\b(?:declined|expired|failed)\b"
        r"(?! validation)"
        r"|\b(?:instrument|transaction|payment source)\b[^.]{0,60}?\bdeclined\b"
        r"|\bdeclined by the (?:processor|bank|issuer)"
        # Braintree's `processor_declined` status, read as words.
        r"|\b(?:processor|issuer|bank) declined\b",
        needles=("payment method", "payment instrument", "payment source", "declined"),
        examples=(
            "Your payment method was declined.",
            "The payment method on file has expired.",
            "The instrument presented  was either declined by the processor or bank.",
            "Transaction declined by the issuer.",
            "processor declined",
        ),
        look_alikes=(
            "payment_method_types[0] failed validation",
            "The request was declined because the parameter is not valid.",
        ),
        source="tests/payloads/paypal-instrument-declined-422.json",
    ),
    # A card's verification failed at the issuer: its security code (CVV, CVC, CVV2, CVN),
    # its billing address (AVS) or 3-D Secure. What a processor declines a charge for, as
    # Square's `CVV_FAILURE` code says and Nexio's 400 "Declined for CVV failure" words it:
    # a failure, a mismatch or a decline, not a form field's validation ("The CVV field is
    # required", "CVC must be 3 digits").
    WordRule(
        "card verification failed",
        DECLINED,
        STRONG,
        r"\b" + _VERIFICATION + r"\b[^.]{0,30}?\b(?:fail(?:ed|ure|s)?|mismatch(?:ed)?|declined"
        r"|(?:did|does) not match|not matched|rejected)\b"
        r"|\bdeclined\b[^.]{0,20}?\b(?:for|due to|because of|on)\b[^.]{0,12}?\b"
        + _VERIFICATION
        + r"\b",
        needles=(
            "cvv",
            "cvc",
            "cvn",
            "avs",
            "3-d",
            "3d secure",
            "3d-secure",
            "3ds",
            "card verification",
            "address verification",
            "card security code",
        ),
        examples=(
            "Declined for CVV failure",
            "Declined for AVS failure",
            "CVC check failed.",
            "The transaction was declined due to an AVS mismatch.",
            "3-D Secure authentication failed.",
            "Card verification value does not match.",
        ),
        look_alikes=(
            "The CVV field is required.",
            "CVC must be 3 digits.",
            "Email verification failed.",
            "Invalid CVV.",
            "AVS settings were updated.",
        ),
        source="research/payloads11 nexio-gateway-decline-cvv-400 (https://docs.nexiopay.com/"
        "docs/handling-gateway-declines, 435 'Declined for CVV failure'); Square's CVV_FAILURE "
        "and ADDRESS_VERIFICATION_FAILURE (developer.squareup.com/reference/square/enums/"
        "ErrorCode); https://docs.stripe.com/declines/card (cvc_check and address checks)",
    ),
    # ISO 8583 response 05, which card processors pass on as their decline's text
    # (Braintree's `processor-response-text` 2000, Stripe's `do_not_honor`).
    WordRule(
        "issuer declined (do not honor)",
        DECLINED,
        STRONG,
        # The response's text, not a verb with an object ("we do not honor requests").
        r"\bdo not hono(?:u)?r\b(?! [a-z])",
        needles=("do not hono",),
        examples=(
            "Do Not Honor",
            "Card issuer response: do not honour.",
            "Declined - Do Not Honor (05)",
        ),
        look_alikes=("We do not honor requests without a signature header.",),
        source="research/payloads6 braintree-verification-processor-declined-do-not-honor-xml-422 "
        "(braintree/braintree_java CreditCardVerification test; processor response 2000)",
    ),
    WordRule(
        "payment failed",
        DECLINED,
        STRONG,
        r"\bpayment\b[^.]{0,30}?\b(?:failed\b(?! validation)|(?:was |has been )?declined|could "
        r"not be processed|was unsuccessful)|\b(?:failed|unsuccessful|incomplete|declined) "
        r"payment\b|\b(?:could not|couldn't|unable to|failed to) (?:charge|bill) (?:your|the) "
        r"(?:card|payment method|account)\b"
        r"|\bcharge\b[^.]{0,30}?\b(?:failed|was declined)"
        r"|支付失败|扣款失败",
        needles=("payment", "charge", "bill", "支付失败", "扣款失败"),
        examples=(
            "Payment failed: insufficient funds",
            "Your last payment could not be processed.",
            "We could not renew your plan after a failed payment.",
            "The charge failed.",
            "扣款失败，请检查您的支付方式",
            "Payment declined.",
            "We couldn't charge your card.",
        ),
        look_alikes=(
            "payment_intent failed validation: amount must be positive",
            "The payment amount is required.",
        ),
        source="tests/payloads/x402-v1-settlement-failed-x-payment-response-402.json",
    ),
    # A payment API that asks the payer to change card (WeChat Pay's NOT_ENOUGH) had a
    # payment fail, even though it says "balance not enough".
    WordRule(
        "change card (Chinese)",
        DECLINED,
        STRONG,
        r"余额不足[^。.]{0,20}?更换(?:支付|银行)卡",
        needles=("更换支付卡", "更换银行卡"),
        examples=("用户账号余额不足，请用户充值或更换支付卡后再支付",),
        look_alikes=("余额不足，请充值",),
        source="https://pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=9_1 (NOTENOUGH)",
    ),
    WordRule(
        "no payment method",
        MISSING,
        STRONG,
        r"\bno (?:valid |default |active )?payment (?:method|instrument)s?\b(?! (?:with|id|type)\b)"
        r"|\ba valid payment (?:method|instrument) must be provided"
        r"|\ba payment (?:method|instrument) is required\b"
        r"|\b(?:invalid|missing)_payment_instrument\b"
        r"|\bpayment (?:method|instrument) (?:is )?(?:missing|not on file)",
        needles=("payment method", "payment instrument", "payment_instrument"),
        examples=(
            "There is no valid payment method on your account.",
            "Model access is denied due to INVALID_PAYMENT_INSTRUMENT:A valid payment instrument "
            "must be provided.",
            "A payment method is required to use this model.",
        ),
        look_alikes=(
            "No payment method with id pm_123 exists.",
            "The payment method field is required.",
        ),
        source="tests/payloads/bedrock-invalid-payment-instrument-403.json",
    ),
    WordRule(
        "payment method needed",
        MISSING,
        WEAK,
        r"\bpayment (?:method|instrument)\b[^.]{0,60}?\b(?:invalid|required|missing|needed)",
        needles=("payment method", "payment instrument"),
        examples=("Your payment method is invalid, please update it.",),
        look_alikes=("Choose a payment method.",),
        source="tests/payloads/bedrock-invalid-payment-instrument-403.json",
    ),
    # --- payloads13: billing information the account lacks (Lob's 403
    # `billing_address_required`). Said of the account ("your account needs to have a
    # billing address", "no billing details on file"), it is a payment method missing: the
    # provider cannot bill it. Not a form's field ("address_line1 is required"), nor a
    # payment request's customer address ("The billing address is invalid", "billing
    # address is required"): the account must be the one that lacks it.
    WordRule(
        "billing information missing on the account",
        MISSING,
        STRONG,
        r"\b(?:account|organization|organisation|workspace|team)\b[^.]{0,30}?\b(?:needs?|requires?|must"
        r" have|is missing|has no|does not have|doesn't have|lacks?)\b(?: to have)?"
        r" (?:an? |your |its |the |valid |complete )*" + _BILLING_INFO + r"\b"
        r"|\bno " + _BILLING_INFO + r" (?:on file|(?:is |has been )?(?:set|added|provided|"
        r"configured) (?:on|for) (?:your|the|this) account)\b"
        r"|\b(?:add|provide|set up|enter) (?:an? |your )?" + _BILLING_INFO + r" (?:to|on|for|in)"
        r" your account\b",
        needles=("billing", "payment info", "payment details"),
        examples=(
            "In order to create a live mail piece, your account needs to have a billing address.",
            "Your account does not have billing information.",
            "There are no billing details on file.",
            "Please add a billing address to your account to send live requests.",
        ),
        look_alikes=(
            "address_line1 is required",
            "The billing address is invalid.",
            "Billing address is required.",
            "billing_details.address.postal_code is required for this payment method.",
            "The customer's billing address does not match the card.",
        ),
        source="research/payloads13 lobcom-billing-address-required-403 "
        "(https://help.lob.com/developer-docs/error-reference: BILLING_ADDRESS_REQUIRED, 403, "
        "'In order to create a live mail piece, your account needs to have a billing "
        "address.')",
    ),
    # --- payloads16: billing never set up on the account (TSFM's 402 `billing_required`,
    # "Free credits are exhausted and billing is not active. Set up billing to continue
    # ... after the initial 500 credits."). Billing that was never set up is billing
    # information the account lacks: the provider cannot bill it, and nothing else can be
    # fixed before it (a failed or missing payment method ranks first, so the free credits
    # beside it are not the answer: no top-up can be bought before billing is set up).
    # Said plainly ("billing is not set up", "you have not set up billing yet"), or as
    # billing that is not active whose remedy is to SET it up (never set up), while billing
    # not active alone, or with a remedy to reactivate or pay, stays a lapse
    # (`subscription_inactive`: OpenAI's `billing_not_active`). A product's billing mode
    # ("Metered billing is not configured for this price") is no account's.
    WordRule(
        "billing never set up",
        MISSING,
        STRONG,
        r"(?<!ed )(?<!based )\bbilling (?:is |has )?(?:not|never) (?:yet )?(?:been )?"
        r"(?:set ?up|configured)\b"
        r"|\b(?:have|has)(?:n't| not| never) (?:yet )?(?:set up|configured) (?:your |a )?"
        r"billing(?: yet)?\b(?! (?:alerts?|address|emails?|contacts?|notifications?)\b)"
        r"|(?<!ed )(?<!based )\bbilling (?:is |was )?(?:not active|inactive|not enabled)\b"
        r"[^.]{0,40}\.?\s*(?:please )?set ?up (?:your |a )?billing\b",
        needles=("billing",),
        examples=(
            "Free credits are exhausted and billing is not active. Set up billing to continue "
            "programmatic inference after the initial 500 credits.",
            "Billing is not set up for this account.",
            "You have not set up billing yet.",
            "Billing has not been configured for this workspace.",
            "Your trial credits ran out and billing is not enabled; please set up billing.",
        ),
        look_alikes=(
            "Billing is not active.",
            "Billing is not active. Please reactivate your subscription.",
            "Metered billing is not configured for this price.",
            "Usage-based billing is not set up for this product.",
            "You have set up billing alerts.",
            "You have set up billing.",
            "Billing alerts are not set up.",
        ),
        source="research/payloads16 tsfm-billing-required-402 (https://tsfm.ai/docs/"
        "errors-and-limits: 'billing_required | 402 | Free credits are exhausted and billing "
        "is not active. Set up billing to continue programmatic inference after the initial "
        "500 credits.')",
    ),
    WordRule(
        "add a payment method",
        Family.PAYMENT_METHOD_ASKED,
        STRONG,
        r"\b(?:add|update|set up|attach|provide|link)\b[^.]{0,25}?\b(?:a|an|your|new|valid"
        r"|default) (?:payment (?:method|instrument)|credit card|billing method)\b"
        r"(?! (?:id|type|token|field)\b)"
        r"|\bupdate (?:your )?(?:payment|billing) (?:information|info|details)\b",
        needles=(
            "payment method",
            "payment instrument",
            "credit card",
            "billing method",
            "payment info",
            "payment details",
            "billing info",
            "billing details",
        ),
        examples=(
            "Please add a payment method to continue.",
            "Update your payment method in the dashboard.",
            "Add a credit card to keep using the API.",
            "Please update your billing information.",
        ),
        look_alikes=(
            "Provide a valid payment method id.",
            "Update the payment method type to card.",
        ),
        source="tests/payloads/openai-rate-limit-rpm-billing-hint-429-negative.json (a throttle "
        "that says it; docs.stripe.com/error-codes)",
    ),
)

# `insufficient_funds` is no decline code here: it is Stripe's `decline_code` of a card (next
# to `card_declined`, which decides) and an API's own balance that ran out (Prime Intellect's
# `insufficient_funds` beside "Insufficient balance ... add funds"). Read by its words, it
# joins the message's: a card or a failed payment in the words still ranks first.
CODES = (
    CodeRule(
        [
            "card_declined",
            "card_error",
            "expired_card",
            "payment_failed",
            "payment_declined",
            "lost_card",
            "stolen_card",
            "do_not_honor",
            "generic_decline",
            "testmode_charges_only",
            "card_not_supported",
            "charge_failed",
            "instrument_declined",
            "transaction_refused",
            "payer_cannot_pay",
            "payment_method_error",
            "card_expired",
            "cvv_failure",
            "address_verification_failure",
            "invalid_expiration",
            "card_declined_verification_required",
            "card_declined_calling_issuer",
        ],
        DECLINED,
        STRONG,
        source="https://docs.stripe.com/error-codes; https://docs.stripe.com/declines/codes; "
        "PayPal Orders v2 INSTRUMENT_DECLINED; Square's PAYMENT_METHOD_ERROR category and its "
        "codes (developer.squareup.com/reference/square/enums/ErrorCode)",
        look_alikes=("card_not_found", "declined_by_user", "insufficient_funds"),
    ),
    # Codes of other APIs too: a 403 `authentication_required`, a phone API's
    # `invalid_number`, a server's `processing_error`.
    CodeRule(
        [
            "incorrect_cvc",
            "invalid_cvc",
            "incorrect_number",
            "invalid_number",
            "invalid_expiry_month",
            "invalid_expiry_year",
            "processing_error",
            "authentication_required",
        ],
        DECLINED,
        WEAK,
        source="https://docs.stripe.com/error-codes",
    ),
    CodeRule(
        [
            "payment_method_invalid",
            "payment_method_required",
            "payment_method_missing",
            "no_payment_method",
            "payer_action_required",
            "invalid_payment_instrument",
        ],
        MISSING,
        STRONG,
        source="https://docs.stripe.com/error-codes; PayPal Orders v2 PAYER_ACTION_REQUIRED; "
        "tests/payloads/bedrock-invalid-payment-instrument-403.json",
        look_alikes=("payment_method_unactivated_for_test",),
    ),  # --- payloads13: a code that says the account's billing information is missing. Weak:
    # a payments API's validation of a customer's address says the same
    # (`billing_address_required` on a payment request), so only the words (above) or a
    # 402 make it a gate.
    CodeRule(
        [
            "billing_address_required",
            "billing_address_missing",
            "billing_info_required",
            "billing_information_required",
            "billing_details_required",
            "billing_information_missing",
            "billing_details_missing",
        ],
        MISSING,
        WEAK,
        source="research/payloads13 lobcom-billing-address-required-403 "
        "(https://help.lob.com/developer-docs/error-reference)",
        look_alikes=("billing_address_invalid", "address_line1_required"),
    ),
)
