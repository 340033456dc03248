// Edge maps cv2.Canny (OpenCV 4.6.0, Debian's python3-opencv) made from shapesPicture() (test-pictures.ts),
// dumped as raw RGB bytes and read back with numpy:
//   ref = cv2.Canny(img, low, high, L2gradient=l2)
//   bits = base64(zlib.compress(np.packbits(ref > 0)))
// Keys are 'low-high-l1|l2'; `edges` counts the edge pixels. Regenerate only if shapesPicture() changes.

export const CV2_CANNY: Record<string, { edges: number; bits: string }> = {
  '100-200-l1': {
    edges: 1097,
    bits:
      'eNrtlcFu1DAQhsfrVRoVU3GoKh/a3X0AJNJjpULzBryCES/ApRK3+lap4hEQz8AjmB56pEhceiPtpVfUCsGhImQ3drKeGbPL3ihYSpR8' +
      'tmf+mYwnANzYBPjP/1q+dqL07vnJM414fnh7/bE4/HDtYv6ouez0YUI5rMLLwOXbil2vXm6z/CvIRkiOuWwuw/CsuQrGjp66YPSY1hZZ' +
      '75pLWMKFbSexX+mNYb41uxc9936VF4X15P6Oefs+JHpSfDK7Dwg3Xi22X7bREZ32txwsjjdw5FeE3cjvqnySsL86R35RvIOw/g+5SXAc' +
      '1yDhVyTsL+LlyjzOj1343ZfigpyLUG/L1meo53zRuUAcr9f+fC17HrPE+SXnvUz0hzLuJ6Rf+f7zwI2/Pf4xgrGL+9XwoFr/vHZZVxD3' +
      'N9LnZZc81P/b/kn5xuk++78QT92/9398leAXPBdveC4znmeyf96e40pYVpsGx/Ii/sTdMHFJdMP5ekej8ao4noW6RkOFuiYygRVa4FqE' +
      'vtYLViZwQmc+GaGyP5hYPhuA6g8mkc8FYLogqExGqLesWJmM0CyaRjIZoTpyH2cZmEwbNA9ov2blkwAyFAfgZUioJo6wDMPKxEIdYzH2' +
      'ppgsk0xn7JJos7BznXHeWTWoLSe6kFBzQWpRg98RJUVBNyGRtukE0TxbVNMYW6M1/XgukUOTyHmR+Ead1fhXARvhYXj0/cvd+xdnVw5e' +
      'i5snVb8+n8jn7/Z2Durjnw8/jeA+jF96fXrQ',
  },
  '50-150-l1': {
    edges: 1563,
    bits:
      'eNrllj9o1UAcx3+XpGle+9rm1bYEebYpgnQomMpzEKrN6+RmKQ4dowURXB7SiptXHIqlSJEKDiJvc3F4i+AYFcShqCAuOvjs0o4Pregg' +
      'PpP7l+RyAcVF8IaQ++Tud9/fL7/73QEoGjrogLK921LzMVvNR6wCDv81twu4VcStYt7M896NsjPzeuOMI3Fr9cveK2/16V44kpODAc5i' +
      'N88j81dAwQOAioq7ADPgc67fbzPuReMNMb68XGV8CmAy4R2kYx4GVNvhXAcEgc/D87jBuRnp9nwWTvRQ6HHiJRYY144JPUFsq8F5TYwP' +
      '4+nYoFx3OR/F5KPB9Ah+iBrj3Od8jDw97TK1ivm6ZSpKZ5unyTmdbyGWDkuc076hiTRxMxwaEnepPyCPD1jwONeYfZ/qFunGOZY4ynDA' +
      'Ij2bWS6ti1jPF9z/Kz5VYP9PuSd4Pbuu8Ku+QgPJZgvub/8G19tWVj/jhuyXJq/byPor7NcL+KSv1j9RwEtLaq5n4yP+b4n9902J9xZw' +
      'k9WTLTmvWB4uMG5LXM5Pnm88n+U85PmfxLOa4VL8SRmId5nM2X4E6b/E5YRUqmR8jSmkamU7iNaHHNdIPWkKzuubRuqPDf3hxNfp7+Mw' +
      'EVL9BqlXNhhz7b63vZ+6bUjqW1w4SVtL1XldBA/Q+XT97wAvMuhkmg8+m2XO6kNpjk6HjGtYOkdcnhUFXD6P/Mx94F8+fxsF/L2ao83k' +
      'fSXFdVM93tST92qKl3uwUpsDz0MV9+BioOIB1JR2Qpbv8l0Os3yXmsnzWmplntdSO8zOybxMkYuSzCR3szIjl32VzGjt/MJEo7mtkh99' +
      'LGGFfICedUWU41LwUikTPE8pE2xHKRPyEdVTqnIyo8/zKpmRuQ2VzGg3fpAcazF+SSU/4p5KfmTfUcrPOWAuZv3gbfOqPJH27i1KC3GZ' +
      '1yRhvGel0yUnM3GctkpTDhRt/bnA5jrUAWSkJpP9jrbim6WZPhhoEra17tpspZoSTbmnQ9etlFIyaeVzUBe6dwhHVOYoeQ5A/OEW0BKf' +
      '8KgUxh+ITMpPcKHIJRimqfRH5BlVieiC0E1k6gGPlcaO6hakr1+B4EEq9D24BaiTifJdkik3HRhkoWL3vXmXnLaDPITGjW8ff7QuvNgN' +
      '4Tr6fLwtQostVz/34NSRue76z4E349lUwfEJhVFyvWHGguUIPcnxHXs+DkBJ5rWRehz8oeRaQtvwfvxbhoblDXa0j7i7m9uotNrezm3I' +
      'g5ijfd7/Ba9trxQ=',
  },
  '60-120-l2': {
    edges: 1108,
    bits:
      'eNrtltFq1EAUhk92YrrYsbYoEuzSxjfInVKUxifwFQZ8Ae/0roNXvegjCL5Cn0CCInrnrVeSQqF3UgqCYGHMJpPdzDl/usvijdUDM2y+' +
      'TM785+TMyRIhu0v0n/+1XB3G6YMvN3fIhly//HX2Lf9x4oqQb9bD1uN1hjkBTktx9aaCfPJ80uczPRWpesMx56oepsc7P0k9crA+nQYL' +
      '/JvWl9BT1iOywv+WbW9yfsc74/xeM+diX+1FcT72M9fTXsdiveB+fdbMI8GNTx73UzRzJPJmr+RkebwDPOqeZvuuyrNN7H91zvyzeEd/' +
      'mPO4FnHuJ1rAi5V5mB+78L0v4KKusqvrbag+u3oeD9T/sjz152u85HlMBs6v8mo5j3h/KHA/ibOw/6xX++7Rzx3aLsN+Fe+W9GntxJ1S' +
      '2N+6pMfU64cV6v/ntAa/C/r9K8jVE/vvfR9fDPCvmEdHmKsE80TNf0/6X98bFmpLm3KRlvvzwc3MSiK00tc7s7oONeJJV9fMdFfXzO77' +
      'upYyCQo1vdoNZRIS2uwJhKr5weTyYQB6fjBZlgkGYGZBSJlAqPesoUwg1ANVIJlAaBpsP7fjQC6XLwMomT9i+2koU2RUiwe521IUAxJq' +
      'wIrw6RTKZEIVUMwuFJQ/daks3KwcOYtE5yM6QEGmkSN3KJOiaXrDCg21tukNoblZ5GSMrVMnX145kEMzkPN84B3NvKru/15rGx2PD9zb' +
      'y+OnHz9UdL518fCit96oZ+/2Hu+6299vfd6g62C/AV+efGM=',
  },
};
