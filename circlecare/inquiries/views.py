from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from circlecare.errors import RateLimited
from circlecare.inquiries.forms import InquiryForm
from circlecare.inquiries.services import submit_inquiry

SENT_FLAG = "inquiry_sent"


def contact(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = InquiryForm(request.POST)
        if form.is_valid():
            if form.is_bot:
                # Look exactly like success so the bot learns nothing; store nothing.
                request.session[SENT_FLAG] = True
                return redirect("inquiries:thanks")
            data = {k: v for k, v in form.cleaned_data.items() if k != "website"}
            try:
                submit_inquiry(data=data, remote_addr=request.META.get("REMOTE_ADDR", ""))
            except RateLimited as exc:
                form.add_error(None, exc.message)
                return render(request, "inquiries/contact.html", {"form": form}, status=429)
            request.session[SENT_FLAG] = True
            return redirect("inquiries:thanks")
        return render(request, "inquiries/contact.html", {"form": form}, status=400)
    initial = {"interest": request.GET.get("interest", "any")}
    return render(request, "inquiries/contact.html", {"form": InquiryForm(initial=initial)})


def thanks(request: HttpRequest) -> HttpResponse:
    # Kept, not popped: a reload of this page still thanks someone who did send a message, and
    # only someone who sent nothing is not told it arrived.
    sent = bool(request.session.get(SENT_FLAG, False))
    return render(request, "inquiries/thanks.html", {"sent": sent})
