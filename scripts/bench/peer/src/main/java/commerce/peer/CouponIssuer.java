package commerce.peer;

import commerce.peer.Messages.CouponInfo;
import commerce.peer.Messages.Holding;
import commerce.peer.Messages.IssueRequest;
import commerce.peer.Messages.IssueResult;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The same decision as processors/coupon-issuer.ts: requests are keyed by coupon, so one task sees every
 * request for a coupon in partition order, and the first `totalQuantity` eligible, distinct users win.
 * The checks run in the same order (the same request again, coupon, user, expiry, holder, supply), so
 * every request gets the same outcome as ours.
 */
final class CouponIssuer implements Processor<String, IssueRequest, String, IssueResult> {
  static final String ISSUED_STORE = "coupon-issued";
  static final String HOLDERS_STORE = "coupon-holders";
  static final String COUPONS_STORE = "coupons";
  static final String USERS_STORE = "users";

  private ProcessorContext<String, IssueResult> context;
  private KeyValueStore<String, Integer> issued;
  private KeyValueStore<String, Holding> holders;
  private KeyValueStore<String, CouponInfo> coupons;
  private KeyValueStore<String, String> users;

  @Override
  public void init(ProcessorContext<String, IssueResult> context) {
    this.context = context;
    issued = context.getStateStore(ISSUED_STORE);
    holders = context.getStateStore(HOLDERS_STORE);
    coupons = context.getStateStore(COUPONS_STORE);
    users = context.getStateStore(USERS_STORE);
  }

  @Override
  public void process(Record<String, IssueRequest> record) {
    IssueRequest request = record.value();
    String requestId = request.requestId() != null ? request.requestId() : derivedRequestId();
    IssueResult result = decide(request, requestId, record.timestamp());
    context.forward(record.withKey(Long.toString(request.couponId())).withValue(result));
  }

  private IssueResult decide(IssueRequest request, String requestId, long judgedAt) {
    long userId = request.userId();
    long couponId = request.couponId();
    String couponKey = Long.toString(couponId);
    String holderKey = couponId + "/" + userId;
    Holding held = holders.get(holderKey);
    // The same request again (a producer retry): it already won, so it gets the same answer.
    if (held != null && held.requestId().equals(requestId))
      return IssueResult.issued(requestId, userId, couponId, held.userCouponId());
    CouponInfo coupon = coupons.get(couponKey);
    if (coupon == null) return IssueResult.rejected(requestId, userId, couponId, "COUPON_NOT_FOUND");
    if (users.get(Long.toString(userId)) == null)
      return IssueResult.rejected(requestId, userId, couponId, "USER_NOT_FOUND");
    // Judged by the record's timestamp, never the clock, so a reprocessed record decides the same.
    if (coupon.expiresAt() != null && judgedAt >= coupon.expiresAt())
      return IssueResult.rejected(requestId, userId, couponId, "COUPON_EXPIRED");
    if (held != null) return IssueResult.rejected(requestId, userId, couponId, "ALREADY_ISSUED");
    Integer count = issued.get(couponKey);
    int soFar = count != null ? count : coupon.issuedQuantity();
    if (soFar >= coupon.totalQuantity())
      return IssueResult.rejected(requestId, userId, couponId, "SOLD_OUT");

    int ordinal = soFar + 1;
    // The user coupon's id as ours makes it (coupon id and unit ordinal), so a replay picks the same id.
    long userCouponId = couponId * 1_000_000L + ordinal;
    issued.put(couponKey, ordinal);
    holders.put(holderKey, new Holding(userCouponId, requestId));
    return IssueResult.issued(requestId, userId, couponId, userCouponId);
  }

  /** A request without an id gets its position in the log, as ours does. */
  private String derivedRequestId() {
    return context
        .recordMetadata()
        .map(m -> m.topic() + "-" + m.partition() + "-" + m.offset())
        .orElseThrow(() -> new IllegalStateException("a request without an id and without a log position"));
  }
}
