package commerce.peer;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/** The records the peer reads and writes: the same JSON as the shop's topics (CONTRACT.md section 1). */
final class Messages {
  private Messages() {}

  /** A `coupon-issue-topic` record. The shop's other optional fields (requestedAt) are not needed here. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  record IssueRequest(String requestId, long userId, long couponId) {}

  /** A `coupon-issue-result-topic` record: ISSUED with its user coupon, or REJECTED with a reason. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record IssueResult(
      String requestId, long userId, long couponId, String status, Long userCouponId, String reason) {
    static IssueResult issued(String requestId, long userId, long couponId, long userCouponId) {
      return new IssueResult(requestId, userId, couponId, "ISSUED", userCouponId, null);
    }

    static IssueResult rejected(String requestId, long userId, long couponId, String reason) {
      return new IssueResult(requestId, userId, couponId, "REJECTED", null, reason);
    }
  }

  /** A coupon as the reference topic holds it (what the shop's `coupons` lookup returns). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  record CouponInfo(int totalQuantity, int issuedQuantity, Long expiresAt) {}

  /** A holder of a coupon: the user coupon, and the request that won it (to answer a replay the same). */
  record Holding(long userCouponId, String requestId) {}
}
