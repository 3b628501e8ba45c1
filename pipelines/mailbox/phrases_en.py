"""English phrases (regular-expression fragments) the mailbox signal extractor looks for.

Matched against normalised text: case-folded, accents removed, typographic quotes made ASCII,
whitespace collapsed to one space (see pipelines/mailbox/text.py). Keep them as data: the logic
that uses them is in bounces.py and autoreplies.py.
"""

PHRASES: dict[str, list[str]] = {
    # Subjects of non-delivery reports and delay warnings.
    "bounce_subject": [
        r"undeliver(ed|able)",
        r"returned mail",
        r"delivery (status notification|failure|failed|has failed|problem|report)",
        r"mail delivery (failed|failure|subsystem)",
        r"failure notice",
        r"could not send message",
        r"message not delivered",
        r"delayed mail",
        r"delivery delayed",
        r"warning: could not send",
        r"not delivered",
        r"nondeliverable",
    ],
    # Body sentences that say a message could not be delivered to a recipient.
    "bounce_body": [
        r"undelivered mail returned to sender",
        r"could not be delivered to one or more",
        r"the following address(\(es\)|es)? (failed|had permanent fatal errors|had transient non-fatal errors)",
        r"this is the qmail-send program",
        r"i'm afraid i wasn't able to deliver",
        r"delivery has failed to these recipients",
        r"your message (to .{1,120} )?(couldn't|could not|can't|cannot|wasn't|was not) (be )?delivered",
        r"address not found",
        r"because the address couldn't be found",
        r"(was|were) not delivered to",
        r"unable to deliver (your|the) message",
        r"message could not be delivered",
        r"delivery to the following recipients? (failed|has been delayed)",
        r"permanent (fatal )?error",
        r"remote server returned",
        r"mail delivery (failed|subsystem)",
        r"delivery (to .{1,120} )?(has been )?delayed",
        r"has not yet been delivered",
    ],
    # Only a delay warning: the server will keep trying (a soft bounce).
    "delay": [
        r"delivery (to .{1,120} )?(has been |is )?delayed",
        r"has not (yet )?been delivered",
        r"will (continue to )?(retry|try again|keep trying)",
        r"no action is required on your part",
        r"delayed mail",
        r"still trying to deliver",
        r"had transient non-fatal errors",
        r"will be retried",
    ],
    # Reasons that are temporary or about the mailbox state, not the address (soft bounce).
    "soft": [
        r"(mailbox|inbox|mail ?box) (is )?(full|over ?quota)",
        r"over ?quota",
        r"quota exceeded",
        r"exceed(ed|s)? (the )?(storage|quota)",
        r"insufficient (system )?storage",
        r"greylist(ed|ing)?",
        r"try again later",
        r"temporar(y|ily) (failure|unavailable|rejected|deferred|error)",
        r"connection timed out",
        r"mailbox temporarily",
    ],
    # Reasons that say the address does not (or no longer) exist (hard bounce).
    "hard": [
        r"user unknown",
        r"unknown user",
        r"no such (user|mailbox|recipient|address)",
        r"(address|mailbox|user|recipient)( address)? (does not|doesn't) exist",
        r"address (couldn't|could not) be found",
        r"recipient (address )?rejected",
        r"recipnotfound",
        r"mailbox unavailable",
        r"mailbox (is )?disabled",
        r"account (has been )?disabled",
        r"(account|mailbox) (is )?inactive",
        r"invalid (recipient|address|mailbox)",
        r"no mailbox here by that name",
        r"couldn't find any host named",
        r"host or domain name not found",
        r"domain (not found|does not exist)",
        r"unrouteable address",
        r"not a valid (e-?mail )?address",
    ],
    # Before an address in a bounce that is a helper to contact, not a failed recipient.
    "bounce_not_recipient": [
        r"(contact|write to|e-?mail|send (e-?)?mail to|reach) (your |the |our )?(e-?mail |mail |system |it )?(administrator|admin|helpdesk|help desk|support|postmaster|it department)",
        r"(administrator|admin|helpdesk|help desk|support team|postmaster) (at|on)",
        r"for (further )?(assistance|help)",
    ],
    # Rejections about the sender or the message, not the recipient's address (never a hard bounce alone).
    "not_address": [
        r"sender (address|domain) (rejected|not found|unknown|verification failed)",
        r"(spf|dkim|dmarc)( check)? (fail|failed|failure|validation failed)",
        r"(rejected|blocked) (as|for|because of|due to) (spam|policy|reputation)",
        r"(blacklist(ed)?|blocklist(ed)?|listed (at|in|on) [a-z0-9.-]+bl)",
        r"message (size )?(exceeds|is too (big|large))",
        r"(too many|rate limit|rate-limited)",
    ],
    "autoreply_subject": [
        r"^(automatic reply|auto ?reply|auto-reply|autoresponse|auto response)\b",
        r"^auto ?:",  # Outlook's short prefix; "Auto insurance quote" is no auto-reply
        r"out of (the )?office",
        r"autoreply",
    ],
    # The person has left the organisation (the auto-reply's sender is the departed address).
    "departure": [
        r"(is|am) no longer (with|employed (by|at|with)|working (for|at|with)|part of|an employee of)",
        r"(is|am) not (with|employed (by|at|with)|working (for|at|with)) .{0,60}any ?more",
        r"no longer works? (for|at|with)",
        r"(has|have) (now )?left (the|our|this) (company|firm|organi[sz]ation|group|business|team|agency|practice)",
        # "I have left the office on Friday" is an out-of-office: the office, and "on <day>", do not count.
        r"(has|have) left (?!the office|the building|early|for )[a-z0-9&. -]{1,40} (as of|effective|since)",
        r"left the company",
        r"no longer employed",
        r"this (e-?mail )?(address|account|mailbox) is no longer (active|monitored|in use)",
        r"no longer (works|working) here",
        r"(is|am) no longer (an employee|a member of staff|on the staff)",
        r"(has|have) (now )?retired\b",
    ],
    "out_of_office": [
        r"out of (the )?office",
        r"on (annual |parental |maternity |paternity |sick )?leave",
        r"on (vacation|holiday)",
        r"away from (the office|my desk)",
        r"(limited|no) access to (my )?e-?mail",
        r"i will be back",
        r"i am (currently )?(away|travelling|traveling|absent)",
        r"return(ing)? on",
    ],
    # Cues before a colleague's (or generic) address to write to instead.
    "replacement_contact": [
        r"(please )?(contact|reach out to|get in touch with|write to|forward your (e-?mail|message)s? to|send (your )?(e-?mail|message)s? to)",
        r"(has taken over|takes over|will be handling|is now handling|is now responsible)",
        r"(enquiries|inquiries|questions|matters) (should|can) be (sent|directed|addressed) to",
        r"(please )?(direct|address|redirect) (your |all |any )?(enquiries|inquiries|questions|e-?mails|correspondence|requests) to",
    ],
    # Cues before the same person's new address.
    "replacement_new": [
        r"(my|his|her|their) new (e-?mail|address|e-?mail address|mailbox)",
        r"(reach|contact|email|write to) me (at|on)",
        r"i can (now )?be reached at",
    ],
    # Where the quoted original starts in a reply (text after is not the auto-reply's own).
    "quote_markers": [
        r"-+ ?original message ?-+",
        r"^from: ",
        r"^on .{1,120} wrote:",
        r"^sent: ",
    ],
    # Where a plain-text bounce starts quoting the returned message.
    "returned_markers": [
        r"-+ ?this is a copy of the message",
        r"-+ ?original message ?-+",
        r"below this line is a copy of the message",
        r"original message headers",
        r"^-+ ?(the )?(original|returned|undelivered) message",
        r"^(received|return-path|dkim-signature|message-id|x-[a-z-]+): ",
    ],
    "stopwords": [
        "the", "and", "your", "you", "to", "of", "is", "please", "with", "this", "message", "not", "for", "will", "be",
    ],
}
